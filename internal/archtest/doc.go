// Package archtest enforces the package graph of DESIGN.md: the leaf
// packages (signer, tokens and everything under them) never import
// transport or client, directly or through another package of the module.
package archtest
