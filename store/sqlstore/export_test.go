package sqlstore

// SeedInTransactionsOf is Seed with transactions of n rows, so that a test
// spans several transactions with a few thousand rows instead of tens of
// thousands.
func (s *Store) SeedInTransactionsOf(n int) Seed { return Seed{s: s, rowsPerTx: n} }
