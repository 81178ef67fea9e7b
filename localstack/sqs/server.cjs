// Starts the SQS emulator (npm local-aws-sqs) of the embedded stack.
// It speaks the JSON protocol of aws-sdk-go-v2/service/sqs, with redrive
// policies and DLQs. Port from SQS_LOCAL_PORT (default 9324).
"use strict";
const { createSqsServer } = require("local-aws-sqs");

const port = Number(process.env.SQS_LOCAL_PORT || 9324);

createSqsServer({
  port,
  hostname: "127.0.0.1",
  // Tests create and delete many uniquely named queues; AWS's 60 s wait
  // before re-creating a deleted name is not useful here.
  emulateQueueCreationLifecycle: false,
  validateDlqDestination: true,
})
  .then(() => console.log(`sqs emulator listening on 127.0.0.1:${port}`))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(0));
}
