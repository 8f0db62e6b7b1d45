"""Adapters translate between a platform and the commands: payload → command invocation, ``Reply`` →
platform message, outbox message → DM or channel post. No business rule lives here."""
