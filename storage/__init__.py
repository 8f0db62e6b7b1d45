"""Storage: the tables, the queries and the migrations. Nothing outside this package writes SQL."""
