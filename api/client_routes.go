package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// Health is GET /healthz: the process answers.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	return h, c.Do(ctx, http.MethodGet, "/healthz", nil, &h)
}

// Ready is GET /readyz. A bot that is not ready answers 503 with its
// Readiness, which Ready returns without an error: check Ready.Ready.
func (c *Client) Ready(ctx context.Context) (Readiness, error) {
	status, body, err := c.roundTrip(ctx, http.MethodGet, "/readyz", nil)
	if err != nil {
		return Readiness{}, err
	}
	var r Readiness
	if (status == http.StatusOK || status == http.StatusServiceUnavailable) && json.Unmarshal(body, &r) == nil {
		return r, nil
	}
	return r, answerError(status, body)
}

// Send is POST /v1/messages: the message is ledgered, sent, and its key
// recorded. A Sent with RecordDelayed (202) went out; its key reaches the
// ledger later.
func (c *Client) Send(ctx context.Context, req SendRequest) (Sent, error) {
	var s Sent
	return s, c.Do(ctx, http.MethodPost, "/v1/messages", req, &s)
}

// Broadcast is POST /v1/broadcasts: the job is recorded and runs in the
// bot; follow it with BroadcastStatus.
func (c *Client) Broadcast(ctx context.Context, req BroadcastRequest) (Broadcast, error) {
	var b Broadcast
	return b, c.Do(ctx, http.MethodPost, "/v1/broadcasts", req, &b)
}

// BroadcastStatus is GET /v1/broadcasts/{batch_id}.
func (c *Client) BroadcastStatus(ctx context.Context, batchID string) (Broadcast, error) {
	var b Broadcast
	return b, c.Do(ctx, http.MethodGet, "/v1/broadcasts/"+url.PathEscape(batchID), nil, &b)
}

// CancelBroadcast is DELETE /v1/broadcasts/{batch_id}: no call starts
// after its answer; client names the caller in the audit trail.
func (c *Client) CancelBroadcast(ctx context.Context, batchID, client string) (Broadcast, error) {
	var b Broadcast
	return b, c.Do(ctx, http.MethodDelete, withClient("/v1/broadcasts/"+url.PathEscape(batchID), client), nil, &b)
}

// Recall is POST /v1/recalls, answered when the recall is done (or, with
// DryRun, previewed). req.Async is ignored: StartRecall runs a recall in
// the background.
func (c *Client) Recall(ctx context.Context, req RecallRequest) (Receipt, error) {
	req.Async = false
	var r Receipt
	return r, c.Do(ctx, http.MethodPost, "/v1/recalls", req, &r)
}

// StartRecall is POST /v1/recalls with async: the recall runs on in the
// bot; follow it with RecallStatus.
func (c *Client) StartRecall(ctx context.Context, req RecallRequest) (RecallJob, error) {
	req.Async = true
	var j RecallJob
	return j, c.Do(ctx, http.MethodPost, "/v1/recalls", req, &j)
}

// RecallStatus is GET /v1/recalls/{recall_id}.
func (c *Client) RecallStatus(ctx context.Context, id string) (RecallJob, error) {
	var j RecallJob
	return j, c.Do(ctx, http.MethodGet, "/v1/recalls/"+url.PathEscape(id), nil, &j)
}

// Conversation is GET /v1/conversations/{id}/messages; for an oto chat,
// id is the user's staffId and q.Family is OTO.
func (c *Client) Conversation(ctx context.Context, id string, q ConversationQuery) (Conversation, error) {
	v := url.Values{}
	if q.Family != "" {
		v.Set("family", string(q.Family))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Before > 0 {
		v.Set("before", strconv.FormatUint(q.Before, 10))
	}
	path := "/v1/conversations/" + url.PathEscape(id) + "/messages"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var cv Conversation
	return cv, c.Do(ctx, http.MethodGet, path, nil, &cv)
}

// Message is GET /v1/messages/{key}; with readStatus, DingTalk is asked
// who has read it (one query call).
func (c *Client) Message(ctx context.Context, key string, readStatus bool) (Message, error) {
	path := "/v1/messages/" + url.PathEscape(key)
	if readStatus {
		path += "?read_status=1"
	}
	var m Message
	return m, c.Do(ctx, http.MethodGet, path, nil, &m)
}

// Audit is GET /v1/audit.
func (c *Client) Audit(ctx context.Context, q AuditQuery) (AuditTrail, error) {
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Trail != "" {
		v.Set("trail", q.Trail)
	}
	path := "/v1/audit"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var a AuditTrail
	return a, c.Do(ctx, http.MethodGet, path, nil, &a)
}

// Entries is GET /v1/entries/{state}: pending, recalling or recall_failed.
func (c *Client) Entries(ctx context.Context, state State) (Entries, error) {
	var e Entries
	return e, c.Do(ctx, http.MethodGet, "/v1/entries/"+url.PathEscape(string(state)), nil, &e)
}

// Resolve is POST /v1/entries/{id}/resolve: it settles a pending entry.
func (c *Client) Resolve(ctx context.Context, id uint64, req ResolveRequest) (Entry, error) {
	var e Entry
	return e, c.Do(ctx, http.MethodPost, "/v1/entries/"+strconv.FormatUint(id, 10)+"/resolve", req, &e)
}

// Replace is POST /v1/messages/{key}/replace (a bot with auto-recall).
func (c *Client) Replace(ctx context.Context, key string, req ReplaceRequest) (Replacement, error) {
	var r Replacement
	return r, c.Do(ctx, http.MethodPost, "/v1/messages/"+url.PathEscape(key)+"/replace", req, &r)
}

// Retract is POST /v1/messages/{key}/retract (a bot with auto-recall).
func (c *Client) Retract(ctx context.Context, key string, req RetractRequest) (Receipt, error) {
	var r Receipt
	return r, c.Do(ctx, http.MethodPost, "/v1/messages/"+url.PathEscape(key)+"/retract", req, &r)
}

// AutoRecall is GET /v1/autorecall (a bot with auto-recall).
func (c *Client) AutoRecall(ctx context.Context) (AutoRecall, error) {
	var a AutoRecall
	return a, c.Do(ctx, http.MethodGet, "/v1/autorecall", nil, &a)
}

// ResumeAutoRecall is POST /v1/autorecall/resume: it closes the breaker;
// client names the caller in the audit trail.
func (c *Client) ResumeAutoRecall(ctx context.Context, client string) (AutoRecall, error) {
	var a AutoRecall
	return a, c.Do(ctx, http.MethodPost, withClient("/v1/autorecall/resume", client), nil, &a)
}

// Notify is POST /v1/alerts/{source}: source is "alertmanager" or
// "grafana", notification the webhook's JSON as they send it.
func (c *Client) Notify(ctx context.Context, source string, notification []byte) (AlertsTaken, error) {
	var a AlertsTaken
	return a, c.Do(ctx, http.MethodPost, "/v1/alerts/"+url.PathEscape(source), json.RawMessage(notification), &a)
}
