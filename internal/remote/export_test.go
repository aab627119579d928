package remote

// QuoteForTest is quote, for the external tests.
func QuoteForTest(s string) string { return quote(s) }
