"""The HTTP server: ``routes`` (the routes and the state they answer from, importing nothing heavy, so
``quorum run`` can listen at once) and ``calendar`` (the feeds and the subscription page)."""
