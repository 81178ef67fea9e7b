// Package dev holds nothing itself: its sub-packages are the dev harness,
// never deployed (pkg/internal/archtest fails if a function under
// functions/ links one of them). sandbox hosts the handlers on one HTTP
// server the way API Gateway, SQS and EventBridge would (make run, make
// sandbox, end-to-end tests); embedded runs DynamoDB Local and the SQS
// emulator; stacktest gives each integration test its own table and
// queues; provision creates them (shared with LocalStack's setup);
// fakestore makes the fake platforms' people; chaos injects network
// faults between the handlers and the emulators.
package dev
