// `node infra/dist/provision-roles-main.js`: the database roles of an installation, for a one-shot
// job (docker-compose's `db-roles`, a deploy step). Reads TOKENLEDGER_ADMIN_DATABASE_URL (a
// superuser, or a CREATEROLE role owning the database) and the passwords
// TOKENLEDGER_OWNER_PASSWORD, TOKENLEDGER_<APP>_PASSWORD; prints the role names, never a password.
import { APP_NAMES, APP_ROLES, OWNER_ROLE, provisionRoles, type AppName } from './roles';

async function main(): Promise<void> {
  const adminUrl = process.env.TOKENLEDGER_ADMIN_DATABASE_URL;
  if (!adminUrl) throw new Error('TOKENLEDGER_ADMIN_DATABASE_URL is not set');
  const passwords: Partial<Record<AppName | 'owner', string>> = {};
  const missing: string[] = [];
  for (const who of ['owner', ...APP_NAMES] as const) {
    const name = `TOKENLEDGER_${who.toUpperCase()}_PASSWORD`;
    const value = process.env[name];
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
