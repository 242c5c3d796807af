package awstarget

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/deliver"
)

// redshiftInvoker serves both kinds of Redshift target, a provisioned
// cluster (arn:aws:redshift:...:cluster:<name>) and a Serverless
// workgroup (arn:aws:redshift-serverless:...:workgroup/<id>), through the
// one Data API.
type redshiftInvoker struct {
	clients *clients[*redshiftdata.Client]
}

func newRedshift(f *awsclient.Factory) *redshiftInvoker {
	// The Data API's ARN service is "redshift-data": --aws-endpoint
	// redshift-data=... names its endpoint, as the SDK's service id does.
	return &redshiftInvoker{newClients(f, "redshift-data", func(cfg aws.Config, endpoint func(*string) *string) *redshiftdata.Client {
		return redshiftdata.NewFromConfig(cfg, func(o *redshiftdata.Options) {
			o.BaseEndpoint = endpoint(o.BaseEndpoint)
			o.RetryMaxAttempts = 1
		})
	})}
}

// Invoke runs the target's RedshiftDataParameters: Sql with
// ExecuteStatement, Sqls (one transaction) with BatchExecuteStatement,
// against the database, as the user or with the secret they name, and
// with WithEvent asking Redshift to send an event when the statement ends
// (RedshiftDataParameters, EventBridge API Reference). Each string
// parameter may be a JSON path into the event instead ("Target
// parameters", Event bus targets, EventBridge User Guide). The event
// itself is not sent: the statement is the target's. The delivery task's
// name is the client token, so a retried call whose answer was lost runs
// no statement twice.
func (r *redshiftInvoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	a, err := awsclient.ParseARN(inv.Target.Arn)
	p := inv.Target.RedshiftDataParameters
	if err != nil || a.Region == "" || p == nil || p.Database == nil {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s: not a Redshift cluster or workgroup with RedshiftDataParameters", inv.Target.Arn))
	}
	var cluster, workgroup *string
	if name, ok := resourceName(a.Resource, "cluster:"); ok && a.Service == "redshift" {
		cluster = aws.String(name)
	} else if _, ok := resourceName(a.Resource, "workgroup/"); ok && a.Service == "redshift-serverless" {
		workgroup = aws.String(inv.Target.Arn) // WorkgroupName takes the name or the ARN
	} else {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s: not a Redshift cluster or workgroup", inv.Target.Arn))
	}
	ev := inv.Event
	dyn := func(s *string) *string {
		if s == nil {
			return nil
		}
		return aws.String(dynamic(ev, *s))
	}
	cl, err := r.clients.get(ctx, a.Region, inv)
	if err != nil {
		return err
	}
	opts := traced(inv, func(o *redshiftdata.Options) *[]func(*middleware.Stack) error { return &o.APIOptions })
	token := aws.String(taskName(inv))
	if len(p.Sqls) > 0 {
		sqls := make([]string, len(p.Sqls))
		for i, s := range p.Sqls {
			sqls[i] = dynamic(ev, s)
		}
		in := &redshiftdata.BatchExecuteStatementInput{Sqls: sqls, ClusterIdentifier: cluster, WorkgroupName: workgroup,
			Database: dyn(p.Database), DbUser: dyn(p.DbUser), SecretArn: dyn(p.SecretManagerArn),
			StatementName: dyn(p.StatementName), WithEvent: p.WithEvent, ClientToken: token}
		return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
			_, err := cl.BatchExecuteStatement(ctx, in, opts...)
			return err
		}))
	}
	in := &redshiftdata.ExecuteStatementInput{Sql: dyn(p.Sql), ClusterIdentifier: cluster, WorkgroupName: workgroup,
		Database: dyn(p.Database), DbUser: dyn(p.DbUser), SecretArn: dyn(p.SecretManagerArn),
		StatementName: dyn(p.StatementName), WithEvent: p.WithEvent, ClientToken: token}
	return classifyAccepted(withTimeout(ctx, func(ctx context.Context) error {
		_, err := cl.ExecuteStatement(ctx, in, opts...)
		return err
	}))
}
