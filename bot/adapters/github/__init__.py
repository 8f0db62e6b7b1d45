"""GitHub: the REST client (gidgethub on aiohttp), the notifier that comments the minutes on issues and
pull requests, and the signed webhook endpoint. docs/github.md."""
