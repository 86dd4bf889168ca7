package dingtalk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Send statuses the query APIs report.
const (
	StatusProcessing = "PROCESSING"
	StatusSuccess    = "SUCCESS"
	StatusRecalled   = "RECALLED"
)

// maxQueryPage is the most readers one query page may ask for: more is
// refused with invalidParameter.pageSize.invalid.
const maxQueryPage = 200

// maxQueryPages bounds the pages read for one message (a group of 100,000
// members at 200 a page), so a server that keeps answering hasMore cannot
// keep the client forever.
const maxQueryPages = 1000

// Reader is one recipient's read state, as oToMessages/readStatus reports
// it.
type Reader struct {
	UserID   string `json:"userId"`
	Name     string `json:"name,omitempty"`
	Read     bool   `json:"read"`
	ReadAtMs int64  `json:"read_at_ms,omitempty"`
}

// MessageStatus is what DingTalk says of one sent message: whether it is
// still shown (SendStatus SUCCESS), being processed, or recalled, and who
// has read it.
type MessageStatus struct {
	SendStatus string
	// ReadUserIDs are the recipients who have read it.
	ReadUserIDs []string
	// Recipients is every recipient with its read state; only the oto API
	// lists the unread ones too.
	Recipients []Reader
}

// QueryOTO asks oToMessages/readStatus about a message sent with
// oToMessages/batchSend: its status and each recipient's read state. It
// works within 24 h of sending.
func (c *Client) QueryOTO(ctx context.Context, key string) (MessageStatus, error) {
	var a struct {
		SendStatus string `json:"sendStatus"`
		List       []struct {
			Name          string `json:"name"`
			UserID        string `json:"userId"`
			ReadStatus    string `json:"readStatus"`
			ReadTimestamp int64  `json:"readTimestamp"`
		} `json:"messageReadInfoList"`
	}
	q := url.Values{"robotCode": {c.cfg.RobotCode}, "processQueryKey": {key}}
	if err := c.call(ctx, http.MethodGet, PathOTOQuery, q, nil, &a); err != nil {
		return MessageStatus{}, err
	}
	if a.SendStatus == "" {
		return MessageStatus{}, &APIError{Path: PathOTOQuery, Status: 200, Code: "malformedResponse", Message: "the answer has no sendStatus"}
	}
	st := MessageStatus{SendStatus: a.SendStatus}
	for _, r := range a.List {
		read := r.ReadStatus == "READ"
		st.Recipients = append(st.Recipients, Reader{UserID: r.UserID, Name: r.Name, Read: read, ReadAtMs: r.ReadTimestamp})
		if read {
			st.ReadUserIDs = append(st.ReadUserIDs, r.UserID)
		}
	}
	return st, nil
}

// QueryPrivate asks privateChatMessages/query about a message in a
// person-to-person chat, reading every page of readers.
func (c *Client) QueryPrivate(ctx context.Context, conversationID, key string) (MessageStatus, error) {
	return c.queryPaged(ctx, PathPrivateQuery, conversationID, key)
}

// QueryGroup asks groupMessages/query about a message in a group, reading
// every page of readers.
func (c *Client) QueryGroup(ctx context.Context, conversationID, key string) (MessageStatus, error) {
	return c.queryPaged(ctx, PathGroupQuery, conversationID, key)
}

func (c *Client) queryPaged(ctx context.Context, path, conversationID, key string) (MessageStatus, error) {
	type body struct {
		OpenConversationID string `json:"openConversationId"`
		RobotCode          string `json:"robotCode"`
		ProcessQueryKey    string `json:"processQueryKey"`
		MaxResults         int    `json:"maxResults"`
		NextToken          string `json:"nextToken,omitempty"`
	}
	var st MessageStatus
	next := ""
	for range maxQueryPages {
		var a struct {
			SendStatus  string   `json:"sendStatus"`
			ReadUserIDs []string `json:"readUserIds"`
			NextToken   string   `json:"nextToken"`
			HasMore     bool     `json:"hasMore"`
		}
		in := body{OpenConversationID: conversationID, RobotCode: c.cfg.RobotCode, ProcessQueryKey: key, MaxResults: maxQueryPage, NextToken: next}
		if err := c.call(ctx, http.MethodPost, path, nil, in, &a); err != nil {
			return MessageStatus{}, err
		}
		if a.SendStatus == "" {
			return MessageStatus{}, &APIError{Path: path, Status: 200, Code: "malformedResponse", Message: "the answer has no sendStatus"}
		}
		st.SendStatus = a.SendStatus
		st.ReadUserIDs = append(st.ReadUserIDs, a.ReadUserIDs...)
		if !a.HasMore || a.NextToken == "" || a.NextToken == next {
			return st, nil
		}
		next = a.NextToken
	}
	return st, fmt.Errorf("dingtalk %s: more than %d pages of readers", path, maxQueryPages)
}
