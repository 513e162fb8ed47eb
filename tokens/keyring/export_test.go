package keyring

// SecretServiceLimit is the largest value the Secret Service takes for
// service and key.
func SecretServiceLimit(service, key string) int { return platformLimit("linux", service, key) }
