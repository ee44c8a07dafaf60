// Package tlsutil owns the webhook's serving certificate: loading it from files and reloading it when
// they change (Secret volumes are updated in place), and making a throw-away CA and certificate for
// local use.
package tlsutil
