"""The headless CLI commands; none of them imports Textual."""
