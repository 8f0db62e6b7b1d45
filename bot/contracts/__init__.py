"""Neutral types every layer shares, below the services: what a command answers (``Reply``), who acts
(``Actor``), and what goes out through the outbox to a platform (``OutboundMessage``, ``Notifier``).
They import nothing of the bot but each other, so services, commands and adapters can all depend on
them without depending on each other."""
