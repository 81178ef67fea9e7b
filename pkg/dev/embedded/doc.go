// Package embedded installs, starts and stops the embedded local AWS stack:
// the official DynamoDB Local (shipped inside the npm package
// amplify-dynamodb-simulator, run with the machine's Java 17) and the SQS
// emulator local-aws-sqs (run with Node 20).
//
// Everything it downloads or writes lives under <repo>/.local/ (ignored by
// git): emulators/ for the installed emulators, run/ for PID files and the
// start lock, log/ for the emulators' output. Up reuses emulators that
// already answer on their ports and records PID files only for what it
// started, so Down stops only those.
package embedded
