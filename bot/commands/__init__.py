"""Commands: the registry, the text grammar, the dispatcher and the handlers (which answer with the
neutral ``Reply`` of ``bot.contracts``).

Importing this package registers nothing: ``bot.commands.catalog`` imports every handler module and so
fills the registry; the app, the tests and the benchmarks import it."""
