package api

import (
	"context"
	"math"
	"time"

	"github.com/switchyard/switchyard/internal/control"
)

// The model's patterns of the archive and replay shapes.
func init() {
	for name, p := range map[string]string{
		"archiveName": resourceName,
		"replayName":  resourceName,
		"eventsArn":   `^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:.+\/.+$`,
		"anything":    `.*`,
	} {
		patterns[name] = p
	}
}

func (e epoch) time() time.Time {
	sec, frac := math.Modf(float64(e))
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC()
}

type createArchiveIn struct {
	ArchiveName      *string `v:"req,len=1:48,re=archiveName"`
	EventSourceArn   *string `v:"req,len=1:1600,re=eventsArn"`
	Description      *string `v:"len=:512,re=anything"`
	EventPattern     *string `v:"len=:4096"`
	RetentionDays    *int32  `v:"range=0:"`
	KmsKeyIdentifier *string `v:"len=:2048,re=kmsKey"`
}

type archiveRefIn struct {
	ArchiveName *string `v:"req,len=1:48,re=archiveName"`
}

type updateArchiveIn struct {
	ArchiveName      *string `v:"req,len=1:48,re=archiveName"`
	Description      *string `v:"len=:512,re=anything"`
	EventPattern     *string `v:"len=:4096"`
	RetentionDays    *int32  `v:"range=0:"`
	KmsKeyIdentifier *string `v:"len=:2048,re=kmsKey"`
}

type listArchivesIn struct {
	NamePrefix     *string `v:"len=1:48,re=archiveName"`
	EventSourceArn *string `v:"len=1:1600,re=eventsArn"`
	State          *string `v:"enum=ENABLED|DISABLED|CREATING|UPDATING|CREATE_FAILED|UPDATE_FAILED"`
	NextToken      *string `v:"len=1:2048"`
	Limit          *int32  `v:"range=1:100"`
}

// archiveOut serves DescribeArchive, the entries of ListArchives and the
// answers of Create and UpdateArchive, each with its own members.
type archiveOut struct {
	ArchiveArn       string `json:",omitempty"`
	ArchiveName      string `json:",omitempty"`
	EventSourceArn   string `json:",omitempty"`
	Description      string `json:",omitempty"`
	EventPattern     string `json:",omitempty"`
	State            string
	StateReason      string `json:",omitempty"`
	KmsKeyIdentifier string `json:",omitempty"`
	RetentionDays    *int32 `json:",omitempty"`
	SizeBytes        *int64 `json:",omitempty"`
	EventCount       *int64 `json:",omitempty"`
	CreationTime     epoch
}

func (h *Handler) createArchive(ctx context.Context, sc control.Scope, in *createArchiveIn) (any, error) {
	a, err := h.control.CreateArchive(ctx, sc, control.ArchiveInput{Name: *in.ArchiveName, EventSourceArn: *in.EventSourceArn,
		Description: in.Description, EventPattern: in.EventPattern, RetentionDays: in.RetentionDays, KmsKeyIdentifier: in.KmsKeyIdentifier})
	if err != nil {
		return nil, err
	}
	return archiveOut{ArchiveArn: a.ARN(), State: a.State, CreationTime: toEpoch(a.CreationTime)}, nil
}

func (h *Handler) describeArchive(ctx context.Context, sc control.Scope, in *archiveRefIn) (any, error) {
	a, n, b, err := h.control.DescribeArchive(ctx, sc, *in.ArchiveName)
	if err != nil {
		return nil, err
	}
	return archiveOut{ArchiveArn: a.ARN(), ArchiveName: a.Name, EventSourceArn: a.SourceARN(), Description: a.Description,
		EventPattern: a.EventPattern, State: a.State, StateReason: a.StateReason, KmsKeyIdentifier: a.KmsKeyIdentifier,
		RetentionDays: &a.RetentionDays, SizeBytes: &b, EventCount: &n, CreationTime: toEpoch(a.CreationTime)}, nil
}

func (h *Handler) listArchives(ctx context.Context, sc control.Scope, in *listArchivesIn) (any, error) {
	as, next, err := h.control.ListArchives(ctx, sc, deref(in.NamePrefix), deref(in.EventSourceArn), deref(in.State), in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Archives  []archiveOut
		NextToken *string `json:",omitempty"`
	}{each(as, func(a control.ArchiveStats) archiveOut {
		return archiveOut{ArchiveName: a.Name, EventSourceArn: a.SourceARN(), State: a.State, StateReason: a.StateReason,
			RetentionDays: &a.RetentionDays, SizeBytes: &a.SizeBytes, EventCount: &a.EventCount, CreationTime: toEpoch(a.CreationTime)}
	}), next}, nil
}

func (h *Handler) updateArchive(ctx context.Context, sc control.Scope, in *updateArchiveIn) (any, error) {
	a, err := h.control.UpdateArchive(ctx, sc, control.ArchiveInput{Name: *in.ArchiveName, Description: in.Description,
		EventPattern: in.EventPattern, RetentionDays: in.RetentionDays, KmsKeyIdentifier: in.KmsKeyIdentifier})
	if err != nil {
		return nil, err
	}
	return archiveOut{ArchiveArn: a.ARN(), State: a.State, StateReason: a.StateReason, CreationTime: toEpoch(a.CreationTime)}, nil
}

func (h *Handler) deleteArchive(ctx context.Context, sc control.Scope, in *archiveRefIn) (any, error) {
	return nil, h.control.DeleteArchive(ctx, sc, *in.ArchiveName)
}

// ---- replays

type replayDestinationIn struct {
	Arn        *string  `v:"req,len=1:1600"`
	FilterArns []string `json:",omitempty"`
}

type startReplayIn struct {
	ReplayName     *string              `v:"req,len=1:64,re=replayName"`
	Description    *string              `v:"len=:512,re=anything"`
	EventSourceArn *string              `v:"req,len=1:1600,re=eventsArn"`
	EventStartTime *epoch               `v:"req"`
	EventEndTime   *epoch               `v:"req"`
	Destination    *replayDestinationIn `v:"req"`
}

type replayRefIn struct {
	ReplayName *string `v:"req,len=1:64,re=replayName"`
}

type listReplaysIn struct {
	NamePrefix     *string `v:"len=1:64,re=replayName"`
	State          *string `v:"enum=STARTING|RUNNING|CANCELLING|COMPLETED|CANCELLED|FAILED"`
	EventSourceArn *string `v:"len=1:1600,re=eventsArn"`
	NextToken      *string `v:"len=1:2048"`
	Limit          *int32  `v:"range=1:100"`
}

type replayDestinationOut struct {
	Arn        string
	FilterArns []string `json:",omitempty"`
}

type replayOut struct {
	ReplayName            string                `json:",omitempty"`
	ReplayArn             string                `json:",omitempty"`
	Description           string                `json:",omitempty"`
	State                 string                `json:",omitempty"`
	StateReason           string                `json:",omitempty"`
	EventSourceArn        string                `json:",omitempty"`
	Destination           *replayDestinationOut `json:",omitempty"`
	EventStartTime        epoch                 `json:",omitempty"`
	EventEndTime          epoch                 `json:",omitempty"`
	EventLastReplayedTime epoch                 `json:",omitempty"`
	ReplayStartTime       epoch                 `json:",omitempty"`
	ReplayEndTime         epoch                 `json:",omitempty"`
}

func (h *Handler) startReplay(ctx context.Context, sc control.Scope, in *startReplayIn) (any, error) {
	r, err := h.control.StartReplay(ctx, sc, control.ReplayInput{Name: *in.ReplayName, Description: in.Description,
		EventSourceArn: *in.EventSourceArn, EventStartTime: in.EventStartTime.time(), EventEndTime: in.EventEndTime.time(),
		DestinationArn: *in.Destination.Arn, FilterArns: in.Destination.FilterArns})
	if err != nil {
		return nil, err
	}
	return replayOut{ReplayArn: r.ARN(), State: r.State, ReplayStartTime: toEpoch(r.ReplayStartTime)}, nil
}

func replayShort(r *control.Replay) replayOut {
	return replayOut{ReplayName: r.Name, EventSourceArn: r.EventSourceArn, State: r.State, StateReason: r.StateReason,
		EventStartTime: toEpoch(r.EventStartTime), EventEndTime: toEpoch(r.EventEndTime),
		EventLastReplayedTime: toEpoch(r.EventLastReplayedTime), ReplayStartTime: toEpoch(r.ReplayStartTime),
		ReplayEndTime: toEpoch(r.ReplayEndTime)}
}

func (h *Handler) describeReplay(ctx context.Context, sc control.Scope, in *replayRefIn) (any, error) {
	r, err := h.control.DescribeReplay(ctx, sc, *in.ReplayName)
	if err != nil {
		return nil, err
	}
	o := replayShort(r)
	o.ReplayArn, o.Description = r.ARN(), r.Description
	o.Destination = &replayDestinationOut{Arn: r.DestinationArn, FilterArns: r.FilterArns}
	return o, nil
}

func (h *Handler) listReplays(ctx context.Context, sc control.Scope, in *listReplaysIn) (any, error) {
	rs, next, err := h.control.ListReplays(ctx, sc, deref(in.NamePrefix), deref(in.EventSourceArn), deref(in.State), in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Replays   []replayOut
		NextToken *string `json:",omitempty"`
	}{each(rs, replayShort), next}, nil
}

func (h *Handler) cancelReplay(ctx context.Context, sc control.Scope, in *replayRefIn) (any, error) {
	r, err := h.control.CancelReplay(ctx, sc, *in.ReplayName)
	if err != nil {
		return nil, err
	}
	return replayOut{ReplayArn: r.ARN(), State: r.State}, nil
}
