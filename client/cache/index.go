package cache

import (
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// section is one of the five sections of MSAL's unified cache.
type section int

const (
	secAccount section = iota
	secIDToken
	secAccessToken
	secRefreshToken
	secAppMetadata
	numSections
)

func (s section) String() string {
	switch s {
	case secAccount:
		return "Account"
	case secIDToken:
		return "IdToken"
	case secAccessToken:
		return "AccessToken"
	case secRefreshToken:
		return "RefreshToken"
	case secAppMetadata:
		return "AppMetadata"
	}
	return "?"
}

func sectionByName(name string) (section, bool) {
	for s := section(0); s < numSections; s++ {
		if s.String() == name {
			return s, true
		}
	}
	return 0, false
}

// member is one name/value pair of a JSON object, kept verbatim.
type member struct {
	name  string
	value json.RawMessage
}

// meta is what every stored entry carries besides its data: where it lives
// in the serialized cache and what we could not interpret, so that a
// read-modify-write cycle gives other MSAL libraries back what they wrote.
type meta struct {
	key      string   // its key within its section
	seq      uint64   // its position in the section; JavaScript objects keep insertion order, and so do we
	extra    []member // members this package does not model
	credType string   // credential_type as stored, "" for the canonical spelling
}

func (m *meta) base() *meta { return m }

type entry interface{ base() *meta }

type atEntry struct {
	// env, client, realm and target are interned (see state.intern), so
	// their bytes are shared by all entries; home and uah are the entry's
	// own. All are lower-cased.
	env, client, home, realm, uah string
	target                        string        // lower-cased scopes, single spaces, no duplicates
	used                          atomic.Uint64 // LRU tick; written under the read lock
	next                          *atEntry      // same idx
	// idt is the ID token of the same environment, client, home account
	// and realm, kept up to date by addIDT and remove, so that a hit finds
	// it without a second lookup. Only for entries with a user: the links
	// are maintained through the user's credentials.
	idt    *idtEntry
	user   *user
	scopes []string // target split, for saving
	idx    string   // idKey(env, client, home, realm, uah)
	v      AccessToken
	meta
}

type rtEntry struct {
	meta
	v                              RefreshToken
	env, client, home, uah, family string
	idx, familyIdx                 string // idKey(env, client, home, uah) and idKey(env, family, home, uah); familyIdx is "" without a family
	user                           *user
	used                           atomic.Uint64 // LRU tick of saves and lookups; see evict
}

type idtEntry struct {
	meta
	v                        IDToken
	env, client, home, realm string
	idx                      string // idKey(env, client, home, realm)
	user                     *user
}

type accEntry struct {
	meta
	v                Account
	env, home, realm string
	user             *user
}

type appEntry struct {
	meta
	v           AppMetadata
	env, client string
	idx         string // idKey(env, client)
}

// opaqueEntry is a credential we keep and write back but never serve: a PoP
// or SSH token, a token bound to requested claims, an entry we could not
// parse. It still belongs to its account, so removing the account removes
// it.
type opaqueEntry struct {
	meta
	raw     json.RawMessage
	section section
	user    *user
}

// user groups everything stored for one home account in one environment;
// it is the unit of account eviction and of RemoveAccount.
type user struct {
	env, home string
	idx       string // idKey(env, home)
	accounts  []*accEntry
	creds     []entry
	used      atomic.Uint64 // LRU tick of saves and non-AT lookups; see lastUsed
}

// state is the whole cache contents: the sections as they will be
// serialized, plus the indexes that make lookups O(1). It is replaced
// wholesale when the store changes under us.
//
// The indexes are Go maps keyed by idKey of the identifiers that name an
// entry (see key.go). An index other than frts holds one entry per key:
// adding an entry removes the one it replaces.
type state struct {
	sec     [numSections]map[string]entry
	unknown []member // top-level sections we do not know, in file order
	seq     uint64

	ats   map[string]*atEntry   // idKey(env, client, home, realm, uah): the newest, chained by next
	rts   map[string]*rtEntry   // idKey(env, client, home, uah)
	frts  map[string][]*rtEntry // idKey(env, family, home, uah)
	idts  map[string]*idtEntry  // idKey(env, client, home, realm)
	users map[string]*user      // idKey(env, home)
	apps  map[string]*appEntry  // idKey(env, client)

	nAT, nRT, nIDT, nAcc int
	lastSweep            time.Time

	// strs interns identifiers most entries share (environments, client
	// ids, realms, targets; not home account ids or assertion hashes): it
	// saves their memory, and the target a lookup checks scopes against
	// stays in the CPU's caches.
	strs map[string]string
}

// maxInterned bounds state.strs, which only a reload empties; past it
// strings are simply not shared.
const maxInterned = 4096

func (s *state) intern(v string) string {
	if x, ok := s.strs[v]; ok {
		return x
	}
	if len(s.strs) < maxInterned {
		s.strs[v] = v
	}
	return v
}

func newState() *state {
	s := &state{
		ats:   map[string]*atEntry{},
		rts:   map[string]*rtEntry{},
		frts:  map[string][]*rtEntry{},
		idts:  map[string]*idtEntry{},
		users: map[string]*user{},
		apps:  map[string]*appEntry{},
		strs:  map[string]string{},
	}
	for i := range s.sec {
		s.sec[i] = map[string]entry{}
	}
	return s
}

func (s *state) len() int { return s.nAT + s.nRT + s.nIDT + s.nAcc }

// removeFromIndex deletes k from m if it maps to v.
func removeFromIndex[T comparable](m map[string]T, k string, v T) {
	if m[k] == v {
		delete(m, k)
	}
}

func removeFromBucket[T comparable](m map[string][]T, k string, v T) {
	b := m[k]
	for i, x := range b {
		if x == v {
			b = append(b[:i], b[i+1:]...)
			break
		}
	}
	if len(b) == 0 {
		delete(m, k)
	} else {
		m[k] = b
	}
}

// put stores e under its key, replacing whatever had that key (MSAL's
// semantics: a key names one entry). A replaced entry's position is kept,
// as assigning to an existing property of a JavaScript object does.
func (s *state) put(sec section, e entry) {
	m := e.base()
	if old, ok := s.sec[sec][m.key]; ok {
		if m.seq == 0 {
			m.seq = old.base().seq
		}
		s.remove(sec, old)
	}
	if m.seq == 0 {
		s.seq++
		m.seq = s.seq
	} else if m.seq > s.seq {
		s.seq = m.seq
	}
	s.sec[sec][m.key] = e
}

func (s *state) remove(sec section, e entry) {
	if cur, ok := s.sec[sec][e.base().key]; !ok || cur != e {
		return
	}
	delete(s.sec[sec], e.base().key)
	switch e := e.(type) {
	case *atEntry:
		s.unchainAT(e)
		s.nAT--
		s.detach(e.user, e)
	case *rtEntry:
		removeFromIndex(s.rts, e.idx, e)
		if e.familyIdx != "" {
			removeFromBucket(s.frts, e.familyIdx, e)
		}
		s.nRT--
		s.detach(e.user, e)
	case *idtEntry:
		removeFromIndex(s.idts, e.idx, e)
		s.nIDT--
		if u := e.user; u != nil {
			for _, c := range u.creds {
				if at, ok := c.(*atEntry); ok && at.idt == e {
					at.idt = nil
				}
			}
		}
		s.detach(e.user, e)
	case *accEntry:
		s.nAcc--
		if u := e.user; u != nil {
			for i, a := range u.accounts {
				if a == e {
					u.accounts = append(u.accounts[:i], u.accounts[i+1:]...)
					break
				}
			}
			s.dropIfEmpty(u)
		}
	case *appEntry:
		removeFromIndex(s.apps, e.idx, e)
	case *opaqueEntry:
		s.detach(e.user, e)
	}
}

func (s *state) unchainAT(e *atEntry) {
	p := s.ats[e.idx]
	if p == e {
		if e.next == nil {
			delete(s.ats, e.idx)
		} else {
			s.ats[e.idx] = e.next
		}
		e.next = nil
		return
	}
	for ; p != nil; p = p.next {
		if p.next == e {
			p.next, e.next = e.next, nil
			return
		}
	}
}

// eachAT calls fn for every indexed access token; fn must not remove any.
func (s *state) eachAT(fn func(*atEntry)) {
	for _, e := range s.ats {
		for ; e != nil; e = e.next {
			fn(e)
		}
	}
}

func (s *state) detach(u *user, e entry) {
	if u == nil {
		return
	}
	for i, c := range u.creds {
		if c == e {
			u.creds = append(u.creds[:i], u.creds[i+1:]...)
			break
		}
	}
	s.dropIfEmpty(u)
}

func (s *state) dropIfEmpty(u *user) {
	if len(u.accounts) == 0 && len(u.creds) == 0 {
		removeFromIndex(s.users, u.idx, u)
	}
}

// userOf returns the group of (env, home), creating it; nil for app tokens.
func (s *state) userOf(env, home string) *user {
	if home == "" {
		return nil
	}
	if u := s.findUser(env, home); u != nil {
		return u
	}
	u := &user{env: env, home: home, idx: idKey(env, home)}
	s.users[u.idx] = u
	return u
}

func (s *state) findUser(env, home string) *user {
	var buf keyBuf
	return s.users[string(appendKey(buf[:0], env, home))]
}

// removeUser removes an account and every credential stored for it.
func (s *state) removeUser(u *user) {
	for _, a := range slices.Clone(u.accounts) {
		s.remove(secAccount, a)
	}
	for _, c := range slices.Clone(u.creds) {
		s.remove(sectionOf(c), c)
	}
	u.accounts, u.creds = nil, nil
	s.dropIfEmpty(u)
}

func sectionOf(e entry) section {
	switch e := e.(type) {
	case *atEntry:
		return secAccessToken
	case *rtEntry:
		return secRefreshToken
	case *idtEntry:
		return secIDToken
	case *accEntry:
		return secAccount
	case *appEntry:
		return secAppMetadata
	case *opaqueEntry:
		return e.section
	}
	return numSections
}

// ---- entry construction ----

func (s *state) newATEntry(v AccessToken) *atEntry {
	v.Environment, v.ClientID, v.Realm = s.intern(v.Environment), s.intern(v.ClientID), s.intern(v.Realm)
	v.Target, v.TokenType = s.intern(v.Target), s.intern(v.TokenType)
	target := s.intern(strings.Join(parseScopes(v.Target), " "))
	var scopes []string
	if target != "" {
		scopes = strings.Split(target, " ")
	}
	e := &atEntry{
		v:      v,
		env:    s.intern(strings.ToLower(v.Environment)),
		client: s.intern(strings.ToLower(v.ClientID)),
		home:   strings.ToLower(v.HomeAccountID),
		realm:  s.intern(strings.ToLower(v.Realm)),
		uah:    strings.ToLower(v.UserAssertionHash),
		target: target,
		scopes: scopes,
	}
	e.idx = idKey(e.env, e.client, e.home, e.realm, e.uah)
	return e
}

func newRTEntry(v RefreshToken) *rtEntry {
	e := &rtEntry{
		v:      v,
		env:    strings.ToLower(v.Environment),
		client: strings.ToLower(v.ClientID),
		home:   strings.ToLower(v.HomeAccountID),
		uah:    strings.ToLower(v.UserAssertionHash),
		family: strings.ToLower(v.FamilyID),
	}
	e.idx = idKey(e.env, e.client, e.home, e.uah)
	if e.family != "" {
		e.familyIdx = idKey(e.env, e.family, e.home, e.uah)
	}
	return e
}

func newIDTEntry(v IDToken) *idtEntry {
	e := &idtEntry{
		v:      v,
		env:    strings.ToLower(v.Environment),
		client: strings.ToLower(v.ClientID),
		home:   strings.ToLower(v.HomeAccountID),
		realm:  strings.ToLower(v.Realm),
	}
	e.idx = idKey(e.env, e.client, e.home, e.realm)
	return e
}

func newAccEntry(v Account) *accEntry {
	return &accEntry{
		v:     v,
		env:   strings.ToLower(v.Environment),
		home:  strings.ToLower(v.HomeAccountID),
		realm: strings.ToLower(v.Realm),
	}
}

func newAppEntry(v AppMetadata) *appEntry {
	e := &appEntry{
		v:      v,
		env:    strings.ToLower(v.Environment),
		client: strings.ToLower(v.ClientID),
	}
	e.idx = idKey(e.env, e.client)
	return e
}

// ---- adding ----

// addAT stores a new access token. Like MSAL, it first removes the tokens
// of the same account, client, tenant and assertion whose scopes intersect
// the new one's, so a refreshed token replaces its predecessor. With
// reuseKey (a save, not a load) a predecessor with the same target lends
// the new token its key, so a file shared with another MSAL keeps one entry
// under the key that MSAL chose. Tokens in the same bucket that expired
// more than a day before now are dropped on the way (now zero: never).
func (s *state) addAT(e *atEntry, reuseKey bool, now time.Time) {
	stale := now.Add(-staleAfter)
	var victims []*atEntry
	for o := s.ats[e.idx]; o != nil; o = o.next {
		if intersectScopes(o.scopes, e.scopes) || (!now.IsZero() && o.v.ExpiresOn.Before(stale)) {
			victims = append(victims, o)
		}
	}
	for _, o := range victims {
		if reuseKey && e.key == "" && strings.EqualFold(o.v.Target, e.v.Target) {
			e.key, e.seq = o.key, o.seq
		}
		s.remove(secAccessToken, o)
	}
	if e.key == "" {
		e.key = accessTokenKey(&e.v)
	}
	s.put(secAccessToken, e)
	e.next = s.ats[e.idx]
	s.ats[e.idx] = e
	s.nAT++
	e.user = s.userOf(e.env, e.home)
	if e.user != nil {
		e.idt = e.user.idt(e.client, e.realm)
		e.user.creds = append(e.user.creds, e)
	}
}

// addRT stores a refresh token, replacing the account's previous one for
// the client (MSAL keeps one). The predecessor's key is reused only if it
// has the same family-ness, since the key names the family when there is
// one.
func (s *state) addRT(e *rtEntry, reuseKey bool) {
	if o := s.rts[e.idx]; o != nil {
		if reuseKey && e.key == "" && o.family == e.family {
			e.key, e.seq = o.key, o.seq
		}
		s.remove(secRefreshToken, o)
	}
	if e.key == "" {
		e.key = refreshTokenKey(&e.v)
	}
	s.put(secRefreshToken, e)
	s.rts[e.idx] = e
	if e.familyIdx != "" {
		s.frts[e.familyIdx] = append(s.frts[e.familyIdx], e)
	}
	s.nRT++
	e.user = s.userOf(e.env, e.home)
	if e.user != nil {
		e.user.creds = append(e.user.creds, e)
	}
}

func (s *state) addIDT(e *idtEntry, reuseKey bool) {
	if o := s.idts[e.idx]; o != nil {
		if reuseKey && e.key == "" {
			e.key, e.seq = o.key, o.seq
		}
		s.remove(secIDToken, o)
	}
	if e.key == "" {
		e.key = idTokenKey(&e.v)
	}
	s.put(secIDToken, e)
	s.idts[e.idx] = e
	s.nIDT++
	e.user = s.userOf(e.env, e.home)
	if e.user != nil {
		for _, c := range e.user.creds {
			if at, ok := c.(*atEntry); ok && at.client == e.client && at.realm == e.realm {
				at.idt = e
			}
		}
		e.user.creds = append(e.user.creds, e)
	}
}

// idt finds the user's ID token for client in realm (both lower-cased).
func (u *user) idt(client, realm string) *idtEntry {
	for _, c := range u.creds {
		if it, ok := c.(*idtEntry); ok && it.client == client && it.realm == realm {
			return it
		}
	}
	return nil
}

// addAccount stores an account. With merge (a save), the fields we do not
// model, such as MSAL Node's tenant profiles, survive from the predecessor.
func (s *state) addAccount(e *accEntry, merge bool) {
	if u := s.findUser(e.env, e.home); u != nil {
		for _, o := range u.accounts {
			if o.realm == e.realm {
				if merge && e.key == "" {
					e.meta = o.meta
				}
				s.remove(secAccount, o)
				break
			}
		}
	}
	if e.key == "" {
		e.key = accountKey(&e.v)
	}
	s.put(secAccount, e)
	s.nAcc++
	e.user = s.userOf(e.env, e.home)
	e.user.accounts = append(e.user.accounts, e)
}

func (s *state) addApp(e *appEntry, merge bool) {
	if o := s.apps[e.idx]; o != nil {
		if merge && e.key == "" {
			e.meta = o.meta
		}
		s.remove(secAppMetadata, o)
	}
	if e.key == "" {
		e.key = appMetadataKey(&e.v)
	}
	s.put(secAppMetadata, e)
	s.apps[e.idx] = e
}

func (s *state) addOpaque(e *opaqueEntry, env, home string) {
	s.put(e.section, e)
	if e.section == secAccount || e.section == secAppMetadata {
		return
	}
	e.user = s.userOf(strings.ToLower(env), strings.ToLower(home))
	if e.user != nil {
		e.user.creds = append(e.user.creds, e)
	}
}

// ---- lookups (read lock; must not allocate) ----

// findAT returns q's token entry and a copy of its token, or nil.
func (s *state) findAT(q *AccessTokenQuery) (*atEntry, AccessToken) {
	var buf keyBuf
	k := appendKey(buf[:0], q.Environment, q.ClientID, q.HomeAccountID, q.Realm, q.UserAssertionHash)
	var best *atEntry
	for e := s.ats[string(k)]; e != nil; e = e.next {
		if !coversScopes(e.target, q.Scopes) {
			continue
		}
		// Saving replaces intersecting tokens, so two matches are rare (a
		// store written by someone else); the one that lives longest wins.
		if best == nil || e.v.ExpiresOn.After(best.v.ExpiresOn) {
			best = e
		}
	}
	if best == nil {
		return nil, AccessToken{}
	}
	return best, best.v
}

func (s *state) findRT(env, client, home, uah string) *rtEntry {
	var buf keyBuf
	if e := s.rts[string(appendKey(buf[:0], env, client, home, uah))]; e != nil {
		return e
	}
	// An app in a family of client ids may redeem the family's refresh
	// token, which another member may have obtained (MSAL's FOCI).
	app := s.findApp(env, client)
	if app == nil || app.v.FamilyID == "" {
		return nil
	}
	if b := s.frts[string(appendKey(buf[:0], env, app.v.FamilyID, home, uah))]; len(b) > 0 {
		return b[0]
	}
	return nil
}

func (s *state) findIDT(env, client, home, realm string) *idtEntry {
	var buf keyBuf
	return s.idts[string(appendKey(buf[:0], env, client, home, realm))]
}

func (s *state) findApp(env, client string) *appEntry {
	var buf keyBuf
	return s.apps[string(appendKey(buf[:0], env, client))]
}

// account picks the user's account in its home tenant when there are
// several tenant profiles, else the one with the smallest realm so the
// answer does not depend on order.
func (u *user) account() *accEntry {
	var best *accEntry
	home := homeTenantID(u.home)
	for _, a := range u.accounts {
		if home != "" && a.realm == home {
			return a
		}
		if best == nil || a.realm < best.realm {
			best = a
		}
	}
	return best
}

// hasClient reports whether the user holds a served credential of client
// ("" matches any).
func (u *user) hasClient(client string) bool {
	for _, c := range u.creds {
		var cl string
		switch c := c.(type) {
		case *atEntry:
			cl = c.client
		case *rtEntry:
			cl = c.client
		case *idtEntry:
			cl = c.client
		default:
			continue
		}
		if client == "" || strings.EqualFold(cl, client) {
			return true
		}
	}
	return false
}
