package protocol

import "testing"

func TestErrorCodeString(t *testing.T) {
	for _, c := range []struct {
		code ErrorCode
		want string
	}{
		{CodeBadFrame, "BadFrame"},
		{CodeBadTopic, "BadTopic"},
		{CodeUnexpected, "Unexpected"},
		{CodeTooManyTopics, "TooManyTopics"},
		{CodeBadPublish, "BadPublish"},
		{CodeBadResume, "BadResume"},
		{CodeBadPosition, "BadPosition"},
		{CodeNotEntitled, "NotEntitled"},
		{CodeRateLimited, "RateLimited"},
		{CodeTopicLimit, "TopicLimit"},
		{CodeBadVersion, "BadVersion"},
		{CodeHelloRequired, "HelloRequired"},
		{CodeServerFull, "ServerFull"},
		{CodeSlowConsumer, "SlowConsumer"},
		{CodeIdle, "Idle"},
		{CodeShutdown, "Shutdown"},
		{CodeTooManyErrors, "TooManyErrors"},
		{CodeTooLarge, "TooLarge"},
		{CodeSessionMoved, "SessionMoved"},
		{CodeUnauthorized, "Unauthorized"},
		{CodeTokenExpired, "TokenExpired"},
		{CodeFlood, "Flood"},
		{0, "ErrorCode(0)"},
		{1999, "ErrorCode(1999)"},
	} {
		if got := c.code.String(); got != c.want {
			t.Errorf("ErrorCode(%d).String() = %q, want %q", uint16(c.code), got, c.want)
		}
	}
}

func TestFlagsString(t *testing.T) {
	for _, c := range []struct {
		f    Flags
		want string
	}{
		{0, "0"},
		{FlagStale, "Stale"},
		{FlagGap, "Gap"},
		{FlagSimulated, "Simulated"},
		{FlagStale | FlagSimulated, "Stale|Simulated"},
		{FlagStale | FlagGap | FlagSimulated, "Stale|Gap|Simulated"},
		{FlagGap | 0x80, "Gap|0x80"},
	} {
		if got := c.f.String(); got != c.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint8(c.f), got, c.want)
		}
	}
}

func TestEventFlagsString(t *testing.T) {
	for _, c := range []struct {
		f    EventFlags
		want string
	}{
		{0, "0"},
		{EventHistoryLost, "HistoryLost"},
		{EventSnapshot, "Snapshot"},
		{EventHistoryLost | EventSnapshot, "HistoryLost|Snapshot"},
		{0x04, "0x4"},
	} {
		if got := c.f.String(); got != c.want {
			t.Errorf("EventFlags(%#x).String() = %q, want %q", uint8(c.f), got, c.want)
		}
	}
}
