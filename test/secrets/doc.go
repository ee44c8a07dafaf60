// Package secrets holds tests only: the real signet-webhook process is run with registry
// credentials in a docker config, a registry that hands out bearer tokens, and policy key files
// that also hold an encrypted cosign private key and its password; every log line, the /metrics
// output and every answer it gives are then searched for those secrets. None may appear.
package secrets
