package openapi_test

import "testing"

// TestRepeatedSlashesValidatedAgainstOperation: an upstream behind nginx
// (merge_slashes, on by default) or Go's ServeMux (a redirect) serves
// "/pets//7" as "/pets/7". Such a path is validated against that
// operation, composed with the trailing-slash match: with
// AllowUnknownRoutes it must not pass unvalidated (a petId of 0 reaching
// the upstream), and without it a valid call is not refused.
func TestRepeatedSlashesValidatedAgainstOperation(t *testing.T) {
	const base = "https://api.example.test/v1"
	checkRoutedPaths(t, []routedPath{
		{base + "/pets//7", "/v1/pets/{petId}", false},
		{base + "/pets//0", "/v1/pets/{petId}", true},
		{base + "//pets///0", "/v1/pets/{petId}", true},
		{base + "/pets//0/", "/v1/pets/{petId}", true},
		{base + "/pets//7//", "/v1/pets/{petId}", false},
		{base + "//pets?limit=0", "/v1/pets", true},
		{base + "//pets//?limit=5", "/v1/pets", false},
	})
}
