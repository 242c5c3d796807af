package pipes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/pattern"
)

// Source kinds.
const (
	kindSQS      = "sqs"
	kindKinesis  = "kinesis"
	kindDynamoDB = "dynamodb"
	kindKafka    = "kafka" // self-managed Apache Kafka, smk://
	kindMSK      = "msk"
	kindMQ       = "mq"
)

// sourceKind tells what kind of source src is, and the member of
// SourceParameters that configures it.
func sourceKind(src string) (kind, params string) {
	if strings.HasPrefix(src, "smk://") {
		return kindKafka, "SelfManagedKafkaParameters"
	}
	a, err := awsclient.ParseARN(src)
	if err != nil {
		return "", ""
	}
	switch a.Service {
	case "sqs":
		return kindSQS, "SqsQueueParameters"
	case "kinesis":
		return kindKinesis, "KinesisStreamParameters"
	case "dynamodb":
		return kindDynamoDB, "DynamoDBStreamParameters"
	case "kafka":
		return kindMSK, "ManagedStreamingKafkaParameters"
	case "mq":
		return kindMQ, ""
	}
	return "", ""
}

var sourceMembers = []string{"ActiveMQBrokerParameters", "DynamoDBStreamParameters", "KinesisStreamParameters",
	"ManagedStreamingKafkaParameters", "RabbitMQBrokerParameters", "SelfManagedKafkaParameters", "SqsQueueParameters"}

// checkPipe checks what the model cannot: that the source is of a kind
// Pipes reads and its parameters are those of its kind, that the filters
// are event patterns, and that the templates compile.
func checkPipe(p *Pipe, sc control.Scope) error {
	kind, member := sourceKind(p.Source)
	if kind == "" {
		return fieldInvalid("Source", fmt.Sprintf("Source %s is not a supported source: an Amazon SQS queue, Kinesis stream, DynamoDB stream, Amazon MQ broker, Amazon MSK cluster or self-managed Apache Kafka cluster (smk://host:port).", p.Source))
	}
	var sp map[string]json.RawMessage
	if len(p.SourceParameters) > 0 {
		if err := json.Unmarshal(p.SourceParameters, &sp); err != nil {
			return fieldInvalid("SourceParameters", "SourceParameters is not an object.")
		}
	}
	for _, m := range sourceMembers {
		if _, set := sp[m]; set && m != member && !(kind == kindMQ && (m == "ActiveMQBrokerParameters" || m == "RabbitMQBrokerParameters")) {
			return fieldInvalid("SourceParameters."+m, fmt.Sprintf("SourceParameters.%s is not valid for source %s.", m, p.Source))
		}
	}
	switch kind {
	case kindKinesis, kindDynamoDB, kindKafka, kindMSK:
		if _, set := sp[member]; !set {
			// As AWS answers it (hashicorp/terraform-provider-aws#32018).
			return fieldInvalid("SourceParameters."+member, "Missing required parameter.")
		}
	case kindMQ:
		if sp["ActiveMQBrokerParameters"] == nil && sp["RabbitMQBrokerParameters"] == nil {
			return fieldInvalid("SourceParameters.ActiveMQBrokerParameters", "Missing required parameter.")
		}
	}
	if kind == kindDynamoDB && !strings.Contains(p.Source, "/stream/") {
		return fieldInvalid("Source", fmt.Sprintf("Source %s is not a DynamoDB stream ARN (arn:aws:dynamodb:region:account:table/name/stream/label).", p.Source))
	}
	src := p.sourceParams()
	if fc := src.FilterCriteria; fc != nil {
		for i, f := range fc.Filters {
			if f.Pattern == nil {
				continue
			}
			if _, err := pattern.Parse([]byte(*f.Pattern)); err != nil {
				return fieldInvalid(fmt.Sprintf("SourceParameters.FilterCriteria.Filters[%d].Pattern", i), "Invalid filter pattern definition. "+err.Error())
			}
		}
	}
	if sq := src.SqsQueueParameters; sq != nil && sq.BatchSize != nil && *sq.BatchSize > 10 &&
		(sq.MaximumBatchingWindowInSeconds == nil || *sq.MaximumBatchingWindowInSeconds < 1) {
		// "When you set BatchSize to a value greater than 10, you must
		// set MaximumBatchingWindowInSeconds to at least 1 second"
		// (Amazon SQS as a source, EventBridge User Guide).
		return fieldInvalid("SourceParameters.SqsQueueParameters.MaximumBatchingWindowInSeconds", "MaximumBatchingWindowInSeconds must be at least 1 when BatchSize is greater than 10.")
	}
	if p.Enrichment != "" {
		a, err := awsclient.ParseARN(p.Enrichment)
		ok := err == nil && (a.Service == "lambda" || a.Service == "states" || a.Service == "execute-api" ||
			(a.Service == "events" && strings.HasPrefix(a.Resource, "api-destination/")))
		if !ok {
			return fieldInvalid("Enrichment", fmt.Sprintf("Enrichment %s is not a Lambda function, Step Functions state machine, API Gateway REST API or API destination.", p.Enrichment))
		}
	}
	if t := p.targetParams().InputTemplate; t != nil {
		if _, err := compileTemplate("TargetParameters.InputTemplate", *t); err != nil {
			return err
		}
	}
	if t := p.enrichmentParams().InputTemplate; t != nil {
		if _, err := compileTemplate("EnrichmentParameters.InputTemplate", *t); err != nil {
			return err
		}
	}
	if tp := p.targetParams(); tp.KinesisStreamParameters != nil && tp.KinesisStreamParameters.PartitionKey == "" {
		return fieldInvalid("TargetParameters.KinesisStreamParameters.PartitionKey", "Missing required parameter.")
	}
	return nil
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
}
