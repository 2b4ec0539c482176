"""Mail clients for the controller's end-to-end tests against real Dovecot CE (scripts/dovecot-ce.sh).

Everything goes through the CE proxy (CE_PROXY_HOST, default 127.0.0.1) on the ports the harness
uses (CE_IMAP_PORT=10143, CE_POP3_PORT=10110, CE_LMTP_PORT=10024, CE_SUBMISSION_PORT=10587);
passwords default to CE_USER_PASSWORD (the backends' static passdb). Standard library only.

    conn = open_imap("user1")
    which_backend(conn)        # "127.0.0.2": the backend's IMAP ID answer (x-palomar-backend)
    deliver_lmtp("user1", "hello", "body")
    find_message(conn, "hello")
    session_alive(conn)        # False once the backend kicked the session
"""

import email.message
import imaplib
import os
import poplib
import re
import smtplib
import socket

HOST = os.environ.get("CE_PROXY_HOST", "127.0.0.1")
IMAP_PORT = int(os.environ.get("CE_IMAP_PORT", "10143"))
POP3_PORT = int(os.environ.get("CE_POP3_PORT", "10110"))
LMTP_PORT = int(os.environ.get("CE_LMTP_PORT", "10024"))
SUBMISSION_PORT = int(os.environ.get("CE_SUBMISSION_PORT", "10587"))
PASSWORD = os.environ.get("CE_USER_PASSWORD", "palomar-ce-user")
TIMEOUT = float(os.environ.get("CE_MAIL_TIMEOUT", "10"))

BACKEND_ID_KEY = "x-palomar-backend"
# imaplib does not know the ID command (RFC 2971); let it send it in any state.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED", "LOGOUT"))


def open_imap(user, password=None, host=None, port=None):
    """Logs in over IMAP (through the proxy unless host/port say otherwise); raises imaplib.IMAP4.error
    when the login fails (e.g. "[UNAVAILABLE]" while the user's backend is down)."""
    conn = imaplib.IMAP4(host or HOST, port or IMAP_PORT, timeout=TIMEOUT)
    try:
        # imaplib quotes the password but not the user name.
        conn.login(_imap_quote(user), PASSWORD if password is None else password)
    except BaseException:
        _close(conn)
        raise
    return conn


def imap_id(conn):
    """The server's IMAP ID answer as a dict. After login through a CE proxy this is the backend's."""
    typ, data = conn._simple_command("ID", "NIL")
    if typ != "OK":
        raise imaplib.IMAP4.error("ID failed: %r" % (data,))
    _, untagged = conn._untagged_response(typ, data, "ID")
    raw = b" ".join(x for x in untagged if isinstance(x, bytes)).decode("utf-8", "replace")
    # ("name" "Dovecot" "x-palomar-backend" "127.0.0.2" "k" NIL): quoted strings or NIL.
    tokens = re.findall(r'"((?:[^"\\]|\\.)*)"|(NIL)', raw)
    values = [None if nil else re.sub(r"\\(.)", r"\1", s) for s, nil in tokens]
    return {values[i].lower(): values[i + 1] for i in range(0, len(values) - 1, 2) if values[i]}


def which_backend(conn):
    """The IP of the backend serving this (logged in) IMAP session, from its IMAP ID answer."""
    backend = imap_id(conn).get(BACKEND_ID_KEY)
    if not backend:
        raise RuntimeError("the IMAP ID answer has no %s field" % BACKEND_ID_KEY)
    return backend


def session_alive(conn):
    """True if the session still answers NOOP; False if the server (or proxy) dropped it."""
    try:
        typ, _ = conn.noop()
        return typ == "OK"
    except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError, EOFError):
        return False


def deliver_lmtp(user, subject, body, sender="sender@palomar.test", host=None, port=None):
    """Delivers one message to `user` over LMTP through the proxy (RCPT TO is the login name).
    Raises smtplib.SMTPRecipientsRefused (e.g. 451 while no backend can take the user)."""
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = user
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.LMTP(host or HOST, port or LMTP_PORT, timeout=TIMEOUT) as lmtp:
        refused = lmtp.send_message(msg, from_addr=sender, to_addrs=[user])
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)


def find_message(conn_or_user, subject, password=None):
    """True if INBOX holds a message with this subject. Takes an IMAP connection or a user name (then
    it logs in through the proxy, looks, and logs out)."""
    if isinstance(conn_or_user, str):
        conn = open_imap(conn_or_user, password)
        try:
            return find_message(conn, subject)
        finally:
            close_imap(conn)
    conn = conn_or_user
    conn.select("INBOX")
    typ, data = conn.search("UTF-8", "SUBJECT", _imap_quote(subject))
    if typ != "OK":
        raise imaplib.IMAP4.error("SEARCH failed: %r" % (data,))
    return bool(data and data[0] and data[0].split())


def close_imap(conn):
    """Logs out, ignoring a session that is already gone."""
    try:
        conn.logout()
    except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError, EOFError):
        _close(conn)


def open_pop3(user, password=None, host=None, port=None):
    """Logs in over POP3 through the proxy; raises poplib.error_proto when the login fails."""
    conn = poplib.POP3(host or HOST, port or POP3_PORT, timeout=TIMEOUT)
    try:
        conn.user(user)
        conn.pass_(PASSWORD if password is None else password)
    except BaseException:
        try:
            conn.close()
        except OSError:
            pass
        raise
    return conn


def pop3_login(user, password=None):
    """Logs in over POP3 through the proxy and returns the message count (then QUITs)."""
    conn = open_pop3(user, password)
    try:
        count, _ = conn.stat()
        return count
    finally:
        try:
            conn.quit()
        except (poplib.error_proto, OSError):
            conn.close()


def submission_login(user, password=None):
    """Authenticates on the proxy's Submission port (proxied to the backend); True on success."""
    with smtplib.SMTP(HOST, SUBMISSION_PORT, timeout=TIMEOUT) as smtp:
        smtp.ehlo("palomar.test")
        try:
            smtp.login(user, PASSWORD if password is None else password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True


class _FromSource:
    """A client whose connection comes from a chosen local address (any 127.x.y.z on loopback):
    to the server, a client of its own."""

    def __init__(self, source, host, port, timeout):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))


class _SourcedIMAP4(_FromSource, imaplib.IMAP4):
    pass


class _SourcedPOP3(_FromSource, poplib.POP3):
    pass


def login_attempt(protocol, user, password, source):
    """One login through the proxy from the local address `source` ("imap", "pop3" or
    "submission"), logged out at once. True when it succeeded, False when the password (or the
    user) was refused; anything else (e.g. "[UNAVAILABLE]") raises."""
    if protocol == "imap":
        conn = _SourcedIMAP4(source, HOST, IMAP_PORT, TIMEOUT)
        try:
            conn.login(_imap_quote(user), password)
        except imaplib.IMAP4.error as err:
            if "AUTHENTICATIONFAILED" in str(err):
                return False
            raise
        finally:
            _close(conn)
        return True
    if protocol == "pop3":
        conn = _SourcedPOP3(source, HOST, POP3_PORT, TIMEOUT)
        try:
            conn.user(user)
            conn.pass_(password)
        except poplib.error_proto as err:
            if "[AUTH]" in str(err):
                return False
            raise
        finally:
            conn.close()
        return True
    if protocol == "submission":
        with smtplib.SMTP(HOST, SUBMISSION_PORT, timeout=TIMEOUT, source_address=(source, 0)) as smtp:
            smtp.ehlo("palomar.test")
            try:
                smtp.login(user, password)
            except smtplib.SMTPAuthenticationError:
                return False
            return True
    raise ValueError("unknown protocol %r" % (protocol,))


def _imap_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _close(conn):
    try:
        conn.shutdown()
    except (OSError, AttributeError):
        pass
    try:
        conn.sock.close()
    except (OSError, AttributeError):
        pass


__all__ = [
    "open_imap", "imap_id", "which_backend", "session_alive", "deliver_lmtp", "find_message",
    "close_imap", "open_pop3", "pop3_login", "submission_login", "login_attempt",
]
