// Package workload makes the objects signet's benchmarks send: realistic Pods, Deployments and
// CronJobs (the fields the API server really sends, not just images) wrapped in AdmissionReview
// request bodies. The micro benchmarks in pkg/admission and the load generator in test/bench share
// it so that both measure the same bytes.
package workload
