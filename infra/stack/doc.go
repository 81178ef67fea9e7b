// Package stack defines the contactsync AWS CDK stack. Every table, queue and
// function is built by looping over pkg/resources, the single source of
// truth shared with provisioning; infra tests fail if the template drifts.
package stack
