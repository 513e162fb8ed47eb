package keyring

// SecretServiceLimit is the largest value the Secret Service takes for
// service and key.
func SecretServiceLimit(service, key string) int { return platformLimit("linux", service, key) }

// SetAfterSearch makes the Secret Service's Get and Delete call f between
// finding the key's items and reading or deleting them, until restore.
func SetAfterSearch(f func()) (restore func()) {
	old := afterSearch
	afterSearch = f
	return func() { afterSearch = old }
}
