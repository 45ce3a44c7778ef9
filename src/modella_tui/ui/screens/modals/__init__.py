"""Modal screens: confirmations, help, filters."""
