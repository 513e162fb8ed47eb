// Package fleet shares client state between the replicas of a service on
// Redis.
package fleet
