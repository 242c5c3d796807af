package awstarget

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/switchyard/switchyard/internal/deliver"
)

// opsItemInput is what a target's input says of the OpsItem to create,
// in the members of the input template of "Configuring EventBridge to
// automatically create OpsItems for specific events" (Systems Manager
// User Guide):
//
//	{"title": "EBS snapshot copy failed", "description": "...",
//	 "category": "Availability", "severity": "2", "source": "EC2",
//	 "resources": <resources>,
//	 "operationalData": {"/aws/dedup": {"type": "SearchableString",
//	   "value": "{\\"dedupString\\":\\"SSMOpsItems-EBS-snapshot-copy-failed\\"}"}}}
type opsItemInput struct {
	Title           *string                    `json:"title"`
	Description     *string                    `json:"description"`
	Category        *string                    `json:"category"`
	Severity        *string                    `json:"severity"`
	Source          *string                    `json:"source"`
	Priority        *int32                     `json:"priority"`
	OpsItemType     *string                    `json:"opsItemType"`
	Resources       []string                   `json:"resources"`
	OperationalData map[string]opsItemDataJSON `json:"operationalData"`
}

type opsItemDataJSON struct {
	Type  *string         `json:"type"`
	Value json.RawMessage `json:"value"`
}

// envelopeOf is what an OpsItem made of the whole event takes from it.
type envelopeOf struct {
	ID         string   `json:"id"`
	Source     string   `json:"source"`
	DetailType string   `json:"detail-type"`
	Resources  []string `json:"resources"`
}

// opsItem creates an OpsItem in OpsCenter with CreateOpsItem
// (arn:aws:ssm:<region>:<account>:opsitem, the "SSM OpsItem" target). An
// input shaped by the target gives the OpsItem's members as above; what it
// leaves out, and the whole event when the target passes it unshaped,
// Switchyard fills in from the event (AWS does not document what it makes
// of an unshaped event): the detail-type as title, the source as source
// (without the "aws." of an AWS service's events, as CreateOpsItem refuses
// a source containing "aws", "amazon" or "amzn"), a description naming the
// event and its rule, the event's resources as the /aws/resources
// operational data (CreateOpsItem's key for related resources) and the
// event itself as the operational data "event".
//
// CreateOpsItem takes no client token: a retried call whose answer was
// lost may create a second OpsItem, unless the input gives a /aws/dedup
// string, which OpsCenter deduplicates by.
func (s *ssmInvoker) opsItem(ctx context.Context, cl *ssm.Client, inv *deliver.Invocation, opts []func(*ssm.Options)) error {
	var env envelopeOf
	_ = json.Unmarshal(inv.Event, &env)
	var in opsItemInput
	if shaped(inv.Target) {
		if err := decodeInput(inv, &in); err != nil {
			return err
		}
	}
	req := &ssm.CreateOpsItemInput{Title: in.Title, Description: in.Description, Source: in.Source,
		Category: in.Category, Severity: in.Severity, Priority: in.Priority, OpsItemType: in.OpsItemType,
		OperationalData: map[string]types.OpsItemDataValue{}}
	if req.Title == nil {
		req.Title = aws.String(env.DetailType)
		if env.DetailType == "" {
			req.Title = aws.String("EventBridge event")
		}
	}
	if req.Source == nil {
		req.Source = aws.String(opsItemSource(env.Source))
	}
	if req.Description == nil {
		req.Description = aws.String(fmt.Sprintf("Event %s from %s matched rule %s.", env.ID, env.Source, inv.RuleArn))
	}
	for k, v := range in.OperationalData {
		val := string(v.Value)
		var str string
		if json.Unmarshal(v.Value, &str) == nil {
			val = str // a string is its text; anything else its JSON
		}
		req.OperationalData[k] = types.OpsItemDataValue{Value: aws.String(val), Type: types.OpsItemDataType(aws.ToString(v.Type))}
	}
	resources := in.Resources
	if resources == nil && !shaped(inv.Target) {
		resources = env.Resources
	}
	if _, given := req.OperationalData["/aws/resources"]; !given && len(resources) > 0 {
		list := make([]map[string]string, len(resources))
		for i, r := range resources {
			list[i] = map[string]string{"arn": r}
		}
		b, _ := json.Marshal(list)
		req.OperationalData["/aws/resources"] = types.OpsItemDataValue{Value: aws.String(string(b)), Type: types.OpsItemDataTypeSearchableString}
	}
	if !shaped(inv.Target) {
		req.OperationalData["event"] = types.OpsItemDataValue{Value: aws.String(string(inv.Event)), Type: types.OpsItemDataTypeString}
	}
	if len(req.OperationalData) == 0 {
		req.OperationalData = nil
	}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.CreateOpsItem(ctx, req, opts...)
		return err
	}))
}

// opsItemSource is an event source as CreateOpsItem takes a source: the
// service of an AWS event's "aws.<service>", and "EventBridge" for a
// source that is empty or still holds a reserved word.
func opsItemSource(src string) string {
	src = strings.TrimPrefix(src, "aws.")
	l := strings.ToLower(src)
	if src == "" || strings.Contains(l, "aws") || strings.Contains(l, "amazon") || strings.Contains(l, "amzn") {
		return "EventBridge"
	}
	return src
}
