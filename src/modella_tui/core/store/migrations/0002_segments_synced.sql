-- Ranges are recorded every second without waiting for the disk. `done` is what was written,
-- `synced` what an fdatasync covered, and `boot_id` the boot that recorded `done`: a killed
-- process leaves its writes in the page cache, a reboot may not. Older rows were recorded only
-- after a sync, so they are synced as they are.
ALTER TABLE queue_segments ADD COLUMN synced INTEGER NOT NULL DEFAULT 0;
UPDATE queue_segments SET synced = done;
ALTER TABLE queue_items ADD COLUMN boot_id TEXT;
