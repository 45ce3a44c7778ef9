"""The screens of SPEC §4, one module each."""
