"""Pure domain rules: no I/O, no platform or database imports. Plain functions and frozen dataclasses."""
