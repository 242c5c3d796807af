// Package pipes is Switchyard's EventBridge Pipes: the Pipes API (service
// "pipes", 2015-10-07, REST-JSON, served through package restapi on the
// API listener) and the pollers that move records from each pipe's source
// to its target.
//
// A pipe is a record in the JetStream key-value bucket Bucket, scoped by
// account and region like every resource. The API (API) validates
// requests against the constraints of the API model (shapes.json, written
// from botocore's model by genshapes) and what the model cannot say (that
// a source's parameters fit its kind, that filters are event patterns and
// templates compile), stores the pipe, and answers as AWS does. It never
// polls anything itself: it records what is wanted (DesiredState) and a
// transitional CurrentState.
//
// A Runner in every process watches the bucket. For each pipe that should
// run it claims a lease (a control.Lease in the bucket), and the process
// holding it runs the pipe's poller, so a pipe is polled once however many
// processes share the NATS; the runner also moves pipes to RUNNING,
// STOPPED or a failed state, and removes deleted ones. A poller reads its
// source through the source's real API (SQS, Kinesis and DynamoDB Streams
// with aws-sdk-go-v2, self-managed Kafka with franz-go), turns each record
// into the shape AWS documents for that source, keeps those its filters
// (package pattern) match, calls the enrichment and the target through the
// deliverer's invokers (package deliver: the same code that calls rules'
// targets), and then acknowledges the source: SQS messages are deleted,
// stream and Kafka positions are checkpointed in the bucket. Nothing of a
// pipe lives only in one process's memory.
package pipes
