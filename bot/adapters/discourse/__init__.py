"""The Discourse forum: its REST client, the outbox notifier that keeps meeting and vote topics, and the
topic lookup used when an agenda item links the forum (docs/forum.md)."""
