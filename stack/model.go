package stack

import (
	"encoding/json"
	"fmt"
	"os"
)

// ManagedByTag is the tag key, and prefix of the description marker, that
// says which stack manages a resource.
const ManagedByTag = "switchyard:managed-by"

// Document is the desired configuration of one stack in one account and
// region. Field names are those of the EventBridge API, so that a target
// in a document is a Target of PutTargets.
type Document struct {
	// Stack names the stack: the value of the managed-by marker.
	Stack           string           `json:"Stack,omitempty"`
	EventBuses      []EventBus       `json:"EventBuses,omitempty"`
	Rules           []Rule           `json:"Rules,omitempty"`
	Archives        []Archive        `json:"Archives,omitempty"`
	Connections     []Connection     `json:"Connections,omitempty"`
	ApiDestinations []ApiDestination `json:"ApiDestinations,omitempty"`

	// Skipped lists the resources of a CloudFormation template that are
	// not AWS::Events::* and so are not applied.
	Skipped []Skipped `json:"-"`
}

// Skipped is a template resource apply does not handle.
type Skipped struct {
	LogicalID, Type, Reason string
}

// EventBus is a custom event bus (or the default bus, for its policy and
// tags).
type EventBus struct {
	Name             string            `json:"Name"`
	Description      string            `json:"Description,omitempty"`
	KmsKeyIdentifier string            `json:"KmsKeyIdentifier,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	// LogConfig is the bus's logging (Level, IncludeDetail); compared only
	// when the document sets it.
	LogConfig *LogConfig `json:"LogConfig,omitempty"`
	// EventSourceName makes the bus a partner event bus; it is given at
	// creation only (the API does not return it).
	EventSourceName string            `json:"EventSourceName,omitempty"`
	Tags            map[string]string `json:"Tags,omitempty"`
	// Policy is the bus's resource policy, a JSON policy document; absent,
	// the bus has none.
	Policy json.RawMessage `json:"Policy,omitempty"`

	// policyOnly marks a bus a template names only for its policy
	// (AWS::Events::EventBusPolicy): apply sets the policy and nothing else.
	policyOnly bool
}

// DeadLetterConfig is where undeliverable events go.
type DeadLetterConfig struct {
	Arn string `json:"Arn,omitempty"`
}

// LogConfig is how a bus logs what it does with events.
type LogConfig struct {
	Level         string `json:"Level,omitempty"`
	IncludeDetail string `json:"IncludeDetail,omitempty"`
}

// Rule is a rule on a bus and its targets.
type Rule struct {
	Name         string `json:"Name"`
	EventBusName string `json:"EventBusName,omitempty"`
	Description  string `json:"Description,omitempty"`
	// EventPattern is the pattern as JSON; a document may give it as an
	// object or as a string of JSON.
	EventPattern       json.RawMessage   `json:"EventPattern,omitempty"`
	ScheduleExpression string            `json:"ScheduleExpression,omitempty"`
	State              string            `json:"State,omitempty"`
	RoleArn            string            `json:"RoleArn,omitempty"`
	Tags               map[string]string `json:"Tags,omitempty"`
	// Targets are PutTargets' Target objects, kept as JSON so that every
	// field EventBridge has (and will have) passes through.
	Targets []Target `json:"Targets,omitempty"`
}

// Target is one target of a rule: the JSON of an EventBridge Target.
type Target map[string]any

// ID is the target's Id.
func (t Target) ID() string { s, _ := t["Id"].(string); return s }

// Archive archives a bus's events.
type Archive struct {
	ArchiveName string `json:"ArchiveName"`
	// EventBusName names the source bus; EventSourceArn may name it by
	// ARN instead.
	EventBusName   string          `json:"EventBusName,omitempty"`
	EventSourceArn string          `json:"EventSourceArn,omitempty"`
	Description    string          `json:"Description,omitempty"`
	EventPattern   json.RawMessage `json:"EventPattern,omitempty"`
	RetentionDays  int             `json:"RetentionDays,omitempty"`
	// KmsKeyIdentifier is the customer managed key encrypting the archive.
	KmsKeyIdentifier string `json:"KmsKeyIdentifier,omitempty"`
}

// Connection holds the authorization of API destinations.
type Connection struct {
	Name              string `json:"Name"`
	Description       string `json:"Description,omitempty"`
	AuthorizationType string `json:"AuthorizationType"`
	// AuthParameters is CreateConnection's AuthParameters. A secret value
	// (ApiKeyValue, Password, ClientSecret, a parameter's Value) may be
	// given as {"FromEnv": "NAME"} or {"FromFile": "path"} instead of
	// inline; Resolve replaces those.
	AuthParameters map[string]any `json:"AuthParameters"`
	// InvocationConnectivityParameters reach a private endpoint (a VPC
	// Lattice resource configuration); compared only when set.
	InvocationConnectivityParameters map[string]any `json:"InvocationConnectivityParameters,omitempty"`
	KmsKeyIdentifier                 string         `json:"KmsKeyIdentifier,omitempty"`

	// Arn is set for connections read from the API.
	Arn string `json:"-"`
}

// ApiDestination is an HTTP endpoint rules can target.
type ApiDestination struct {
	Name        string `json:"Name"`
	Description string `json:"Description,omitempty"`
	// ConnectionName names a connection; ConnectionArn may name it by ARN.
	ConnectionName               string `json:"ConnectionName,omitempty"`
	ConnectionArn                string `json:"ConnectionArn,omitempty"`
	InvocationEndpoint           string `json:"InvocationEndpoint"`
	HttpMethod                   string `json:"HttpMethod"`
	InvocationRateLimitPerSecond int    `json:"InvocationRateLimitPerSecond,omitempty"`

	// Arn is set for API destinations read from the API.
	Arn string `json:"-"`
}

// Environment is where secret references in a document are looked up.
type Environment struct {
	Getenv   func(string) (string, bool)
	ReadFile func(string) ([]byte, error)
}

// OSEnvironment reads the process's environment and files.
var OSEnvironment = Environment{Getenv: os.LookupEnv, ReadFile: os.ReadFile}

// maxSecretFile bounds a secret read from a file.
const maxSecretFile = 64 << 10

// Resolve replaces the secret references of the connections'
// AuthParameters ({"FromEnv": NAME}, {"FromFile": path}) with their
// values. It fails, naming the connection and the reference, when one
// cannot be read.
func (d *Document) Resolve(env Environment) error {
	for i := range d.Connections {
		c := &d.Connections[i]
		v, err := resolveSecrets(c.AuthParameters, env, "Connections["+c.Name+"].AuthParameters")
		if err != nil {
			return err
		}
		c.AuthParameters, _ = v.(map[string]any)
		// Checked once the secrets are in: against CreateConnection's
		// shapes, at every depth.
		path := "Connections[" + c.Name + "]"
		if err := checkShape(map[string]any(c.AuthParameters), "CreateConnectionAuthRequestParameters", path+".AuthParameters"); err != nil {
			return err
		}
		if c.InvocationConnectivityParameters != nil {
			if err := checkShape(map[string]any(c.InvocationConnectivityParameters), "ConnectivityResourceParameters", path+".InvocationConnectivityParameters"); err != nil {
				return err
			}
		}
	}
	return nil
}

func resolveSecrets(v any, env Environment, path string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if name, ok := v["FromEnv"].(string); ok {
				s, ok := env.Getenv(name)
				if !ok {
					return nil, fmt.Errorf("%s: environment variable %s is not set", path, name)
				}
				return s, nil
			}
			if file, ok := v["FromFile"].(string); ok {
				b, err := env.ReadFile(file)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				if len(b) > maxSecretFile {
					return nil, fmt.Errorf("%s: %s is over %d bytes", path, file, maxSecretFile)
				}
				return string(trimNewline(b)), nil
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := resolveSecrets(e, env, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			r, err := resolveSecrets(e, env, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
