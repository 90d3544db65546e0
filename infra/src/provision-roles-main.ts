// `node infra/dist/provision-roles-main.js`: the database roles of an installation, for a one-shot
// job (docker-compose's `db-roles`, a deploy step). Reads TOKENLEDGER_ADMIN_DATABASE_URL (a
// superuser, or a CREATEROLE role owning the database) and the passwords
// TOKENLEDGER_OWNER_PASSWORD, TOKENLEDGER_<APP>_PASSWORD; prints the role names, never a password.
// Each password may come from a file instead (Docker secrets): TOKENLEDGER_<WHO>_PASSWORD_FILE, and
// the admin URL's password from TOKENLEDGER_ADMIN_DATABASE_PASSWORD_FILE.
import * as fs from 'node:fs';
import { APP_NAMES, APP_ROLES, OWNER_ROLE, provisionRoles, type AppName } from './roles';

/** `name`, else the trimmed content of the file `name_FILE` names; errors name the variable. */
function envOrFile(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  const file = env[`${name}_FILE`];
  if (value && file) throw new Error(`set ${name} or ${name}_FILE, not both`);
  if (value || !file) return value || undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new Error(
      `${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      { cause: error },
    );
  }
  if (!text) throw new Error(`${name}_FILE: ${file} is empty`);
  return text;
}

function adminDatabaseUrl(): string {
  const url = process.env.TOKENLEDGER_ADMIN_DATABASE_URL;
  if (!url) throw new Error('TOKENLEDGER_ADMIN_DATABASE_URL is not set');
  const password = envOrFile('TOKENLEDGER_ADMIN_DATABASE_PASSWORD');
  if (password === undefined) return url;
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

async function main(): Promise<void> {
  const adminUrl = adminDatabaseUrl();
  const passwords: Partial<Record<AppName | 'owner', string>> = {};
  const missing: string[] = [];
  for (const who of ['owner', ...APP_NAMES] as const) {
    const name = `TOKENLEDGER_${who.toUpperCase()}_PASSWORD`;
    const value = envOrFile(name);
    if (value) passwords[who] = value;
    else missing.push(name);
  }
  if (missing.length > 0 && process.env.TOKENLEDGER_ALLOW_NO_PASSWORDS !== '1') {
    throw new Error(
      `not set: ${missing.join(', ')} (TOKENLEDGER_ALLOW_NO_PASSWORDS=1 for trust-auth servers)`,
    );
  }
  await provisionRoles({ adminUrl, passwords, adoptSchemas: APP_NAMES });
  process.stdout.write(
    `roles ready: owner ${OWNER_ROLE}; ${APP_NAMES.map((a) => `${a} ${APP_ROLES[a]}`).join(', ')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `provisioning roles failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
