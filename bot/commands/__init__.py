"""Commands: the registry, the text grammar, the handlers and the neutral ``Reply``.

Importing this package registers nothing, so any layer may import ``bot.contracts.reply`` without
pulling in every handler (and through them the services). ``bot.commands.catalog`` imports every
handler module and so fills the registry; the app, the tests and the benchmarks import it."""
