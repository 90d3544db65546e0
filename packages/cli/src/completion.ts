/** Shell completion scripts for `tokenledger completion bash|zsh`: commands, subcommands, flags. */

const FLAGS: Record<string, string[]> = {
  verify: ['--trust', '--log-key', '--witness-key', '--quorum', '--origin-prefix', '--witness-url'],
  'checkpoint check': [
    '--url',
    '--log',
    '--token-file',
    '--saved',
    '--trust',
    '--log-key',
    '--witness-key',
    '--quorum',
    '--origin-prefix',
  ],
  'checkpoint watch': [
    '--url',
    '--token-file',
    '--dir',
    '--interval',
    '--once',
    '--trust',
    '--log-key',
    '--witness-key',
    '--quorum',
    '--origin-prefix',
  ],
  tail: ['--brokers', '--from-beginning', '--type', '--subject', '--actor'],
  replay: ['--url', '--token-file', '--log', '--topic', '--target', '--from', '--to', '--rate'],
  'tiles export': ['--url', '--token-file', '--log'],
  completion: [],
};
const COMMON = ['--json', '--help'];
const TOP = [
  'verify',
  'checkpoint',
  'tail',
  'replay',
  'tiles',
  'completion',
  '--help',
  '--version',
];
const SUB: Record<string, string[]> = {
  checkpoint: ['check', 'watch'],
  tiles: ['export'],
  completion: ['bash', 'zsh'],
};
/** Flags whose value is a file or directory: complete paths after them. */
const PATH_FLAGS = ['--trust', '--token-file', '--saved', '--dir'];

function flagsOf(command: string): string {
  return [...(FLAGS[command] ?? []), ...COMMON].join(' ');
}

function bash(): string {
  const cases = Object.keys(FLAGS)
    .map((c) => `    '${c}') flags='${flagsOf(c)}' ;;`)
    .join('\n');
  return `# bash completion for tokenledger: eval "$(tokenledger completion bash)"
_tokenledger() {
  local cur prev cmd flags
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W '${TOP.join(' ')}' -- "$cur")); return
  fi
  case "\${COMP_WORDS[1]}" in
${Object.entries(SUB)
  .map(
    ([c, subs]) =>
      `    ${c}) if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W '${subs.join(' ')}' -- "$cur")); return; fi ;;`,
  )
  .join('\n')}
  esac
  case "$prev" in
    ${PATH_FLAGS.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  cmd="\${COMP_WORDS[1]}"
  case "\${COMP_WORDS[1]}" in checkpoint|tiles) cmd="\${COMP_WORDS[1]} \${COMP_WORDS[2]}" ;; esac
  case "$cmd" in
${cases}
    *) flags='' ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _tokenledger tokenledger
`;
}

function zsh(): string {
  const cases = Object.keys(FLAGS)
    .map((c) => `    '${c}') flags=(${flagsOf(c)}) ;;`)
    .join('\n');
  return `# zsh completion for tokenledger: source <(tokenledger completion zsh), after compinit
_tokenledger() {
  local -a flags
  local cmd
  if (( CURRENT == 2 )); then
    compadd -- ${TOP.join(' ')}; return
  fi
  case "$words[2]" in
${Object.entries(SUB)
  .map(
    ([c, subs]) =>
      `    ${c}) if (( CURRENT == 3 )); then compadd -- ${subs.join(' ')}; return; fi ;;`,
  )
  .join('\n')}
  esac
  case "$words[CURRENT-1]" in
    ${PATH_FLAGS.join('|')}) _files; return ;;
  esac
  cmd="$words[2]"
  case "$words[2]" in checkpoint|tiles) cmd="$words[2] $words[3]" ;; esac
  case "$cmd" in
${cases}
  esac
  if [[ "$PREFIX" == -* ]]; then compadd -- $flags; else _files; fi
}
compdef _tokenledger tokenledger
`;
}

/** The completion script for a shell, or undefined for a shell it does not support. */
export function completionScript(shell: string): string | undefined {
  if (shell === 'bash') return bash();
  if (shell === 'zsh') return zsh();
  return undefined;
}
