import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import {
  ApiError,
  getJson,
  storeToken,
  storedToken,
  whenUnauthorized,
  type Principal,
} from './api';
import { TokensPage } from './tokens';
import { TokenDetailPage } from './token-detail';
import { AnomaliesPage, LedgerPage, SprawlPage } from './overview';
import './style.css';

type Route =
  | { page: 'tokens' }
  | { page: 'token'; tokenId: string }
  | { page: 'anomalies' }
  | { page: 'sprawl' }
  | { page: 'ledger' };

/** Hash routes: nothing secret ever goes in them. */
function parseRoute(hash: string): Route {
  const token = /^#\/tokens\/([0-9a-f-]{36})$/.exec(hash);
  if (token?.[1]) return { page: 'token', tokenId: token[1] };
  if (hash === '#/anomalies') return { page: 'anomalies' };
  if (hash === '#/sprawl') return { page: 'sprawl' };
  if (hash === '#/ledger') return { page: 'ledger' };
  return { page: 'tokens' };
}

function SignIn({
  onSignedIn,
  notice,
}: {
  onSignedIn: (p: Principal) => void;
  notice: string | null;
}) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const principal = await getJson<Principal>('revocation', '/v1/whoami', token.trim());
      storeToken(token.trim());
      setToken('');
      onSignedIn(principal);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'That operator token is not valid (unknown, expired or revoked).'
          : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Tokenledger console</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Operator token
          <input
            type="password"
            name="operator-token"
            autocomplete="off"
            spellcheck={false}
            required
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
        </label>
        <p>
          The token stays in this browser tab (sessionStorage) and is sent only as the Authorization
          header of each call.
        </p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </main>
  );
}

function App() {
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [checking, setChecking] = useState(storedToken() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));

  useEffect(() => {
    const onHash = (): void => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onHash);
    whenUnauthorized(() => {
      storeToken(null);
      setPrincipal(null);
      setNotice('Your operator token is no longer valid; sign in again.');
    });
    if (storedToken())
      getJson<Principal>('revocation', '/v1/whoami')
        .then(setPrincipal)
        .catch(() => storeToken(null))
        .finally(() => setChecking(false));
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const titles: Record<Route['page'], string> = {
      tokens: 'Tokens',
      token: 'Token',
      anomalies: 'Anomalies',
      sprawl: 'Sprawl',
      ledger: 'Ledger',
    };
    document.title = `${principal ? titles[route.page] : 'Sign in'} · Tokenledger console`;
  }, [route, principal]);

  if (checking)
    return (
      <main>
        <p role="status">Checking the session…</p>
      </main>
    );
  if (!principal)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(p) => {
          setNotice(null);
          setPrincipal(p);
        }}
      />
    );

  const signOut = (): void => {
    storeToken(null);
    setPrincipal(null);
    setNotice('Signed out.');
    location.hash = '#/tokens';
  };
  const link = (hash: string, label: string, active: boolean) => (
    <li>
      <a href={hash} aria-current={active ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <>
      <header class="top">
        <span class="brand">Tokenledger</span>
        <nav aria-label="Main">
          <ul>
            {link('#/tokens', 'Tokens', route.page === 'tokens' || route.page === 'token')}
            {link('#/anomalies', 'Anomalies', route.page === 'anomalies')}
            {link('#/sprawl', 'Sprawl', route.page === 'sprawl')}
            {link('#/ledger', 'Ledger', route.page === 'ledger')}
          </ul>
        </nav>
        <div class="who" data-testid="principal">
          <span>
            Signed in as <code>{principal.tokenId}</code>
          </span>
          <span aria-label="Scopes">
            {principal.scopes.map((s) => (
              <span class="scope" key={s}>
                {s}{' '}
              </span>
            ))}
          </span>
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      {route.page === 'tokens' && <TokensPage principal={principal} />}
      {route.page === 'token' && <TokenDetailPage principal={principal} tokenId={route.tokenId} />}
      {route.page === 'anomalies' && <AnomaliesPage principal={principal} />}
      {route.page === 'sprawl' && <SprawlPage principal={principal} />}
      {route.page === 'ledger' && <LedgerPage principal={principal} />}
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
