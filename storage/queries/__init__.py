"""Reads and writes used by services, one module per area. Every function takes the session of the
service's transaction; none commits."""
