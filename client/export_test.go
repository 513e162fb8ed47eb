package client

// CheckRequestForTest exposes checkRequest to the external tests.
var CheckRequestForTest = checkRequest
