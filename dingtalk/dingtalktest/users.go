package dingtalktest

import "fmt"

// AddUser makes a user known before they say anything: it creates their
// 1:1 chat with the bot (on the real platform every user has one), so
// that the console lists them and GET /sim/v1/users/{id}/conversation
// answers. It returns that chat's conversationId; adding a user twice
// returns the same one.
func (s *Server) AddUser(userID string) (string, error) {
	if userID == "" {
		return "", fmt.Errorf("emulator: empty user id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.otoConversationLocked(userID)
	s.notifyLocked()
	return c.ID, nil
}
