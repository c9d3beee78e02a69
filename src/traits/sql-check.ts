/**
 * Parse-level checks of an SQL trait's text: one read-only SELECT over the documented views. This is the first
 * barrier, for a clear error at definition time; the second is at run time: the query runs wrapped as a subquery
 * (compileSqlTraitQuery), which no engine accepts around a write, in a read-only transaction or connection
 * (see README.md). The checks work on tokens, with string literals, quoted identifiers and comments set apart, so a
 * word inside a string never trips them.
 */

/** The views an SQL trait may read (conditions/model.ts describes their columns). */
export const SQL_TRAIT_VIEWS = ['c_events', 'c_profiles', 'c_identifiers', 'c_catalog_rows'] as const;

/** Table functions that only compute (no file, network or catalog access). */
const TABLE_FUNCTIONS = new Set(['unnest', 'generate_series', 'range', 'json_each', 'jsonb_each', 'json_array_elements', 'jsonb_array_elements']);

/** Words that change data, settings or the session, or read outside the views. */
const FORBIDDEN_WORDS = new Set([
  'insert', 'update', 'delete', 'merge', 'upsert', 'create', 'drop', 'alter', 'truncate', 'copy', 'attach', 'detach', 'pragma', 'set',
  'reset', 'call', 'install', 'load', 'export', 'import', 'grant', 'revoke', 'vacuum', 'checkpoint', 'execute', 'prepare', 'deallocate',
  'lock', 'listen', 'notify', 'do', 'into', 'use', 'begin', 'commit', 'rollback', 'savepoint', 'analyze', 'explain', 'refresh',
]);

/** Functions that read files, the network, settings or the environment. */
const FORBIDDEN_FUNCTION = /^(read_\w+|\w+_scan|glob|sniff_csv|query|query_table|getenv|current_setting|set_config|pg_\w+|lo_\w+|dblink\w*|duckdb_\w+|http_\w+)$/;

interface Token {
  kind: 'word' | 'quoted' | 'string' | 'number' | 'symbol';
  text: string;
}

function tokenize(sql: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) return 'has an unterminated /* comment';
      i = end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        const end = sql.indexOf(c, j);
        if (end === -1) return `has an unterminated ${c === "'" ? 'string' : 'quoted name'}`;
        if (sql[end + 1] === c) {
          j = end + 2;
          continue;
        }
        tokens.push({ kind: c === "'" ? 'string' : 'quoted', text: sql.slice(i + 1, end).replaceAll(c + c, c) });
        i = end + 1;
        break;
      }
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      // E'...' strings (PostgreSQL escapes) read as a word then a string; both are harmless tokens.
      tokens.push({ kind: 'word', text: m[0].toLowerCase() });
      i += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const text = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?/.exec(sql.slice(i))![0];
      tokens.push({ kind: 'number', text });
      i += text.length;
    } else if (c === '$') {
      return 'cannot use $ (parameters and dollar-quoted strings are not allowed)';
    } else {
      tokens.push({ kind: 'symbol', text: c });
      i++;
    }
  }
  return tokens;
}

const CLAUSE_WORDS = new Set(['select', 'from', 'where', 'group', 'having', 'order', 'limit', 'offset', 'window', 'qualify', 'union', 'intersect', 'except', 'on', 'using', 'values']);

/** The problem with an SQL trait's text, or undefined when it passes. */
export function checkSqlTrait(sql: string): string | undefined {
  const tokens = tokenize(sql);
  if (typeof tokens === 'string') return tokens;
  while (tokens.length > 0 && tokens[tokens.length - 1].text === ';') tokens.pop();
  if (tokens.some((t) => t.kind === 'symbol' && t.text === ';')) return 'must be a single statement (no ; between statements)';
  if (tokens.length === 0 || tokens[0].kind !== 'word' || (tokens[0].text !== 'select' && tokens[0].text !== 'with')) {
    return 'must be a read-only query starting with SELECT or WITH';
  }
  // Names a WITH defines may be read like views: `name AS (` or `name (cols) AS (`.
  const defined = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i].kind !== 'word' && tokens[i].kind !== 'quoted') continue;
    let j = i + 1;
    if (tokens[j]?.text === '(') {
      while (j < tokens.length && tokens[j].text !== ')') j++;
      j++;
    }
    if (tokens[j]?.text === 'as' && tokens[j + 1]?.text === '(' && (i === 0 || tokens[i - 1].text === 'with' || tokens[i - 1].text === ',' || tokens[i - 1].text === 'recursive')) {
      defined.add(tokens[i].text.toLowerCase());
    }
  }
  // Per parenthesis depth: the last clause word seen, and whether the parentheses hold a query (depth 0, or a
  // `(SELECT` / `(WITH` subquery); FROM inside a function call (`extract(epoch FROM x)`) names no table.
  const scopes: { clause: string; query: boolean }[] = [{ clause: '', query: true }];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const prev = tokens[i - 1];
    if (t.kind === 'symbol' && t.text === '(') {
      scopes.push({ clause: '', query: tokens[i + 1]?.text === 'select' || tokens[i + 1]?.text === 'with' });
      continue;
    }
    if (t.kind === 'symbol' && t.text === ')') {
      if (scopes.length > 1) scopes.pop();
      continue;
    }
    if (t.kind === 'word' && FORBIDDEN_WORDS.has(t.text) && !(prev?.text === '.')) return `cannot use ${t.text.toUpperCase()}: an SQL trait only reads`;
    if (t.kind === 'word' && tokens[i + 1]?.text === '(' && FORBIDDEN_FUNCTION.test(t.text)) return `cannot call ${t.text}(): an SQL trait reads only the views ${SQL_TRAIT_VIEWS.join(', ')}`;
    const scope = scopes[scopes.length - 1];
    if (t.kind === 'word' && CLAUSE_WORDS.has(t.text)) scope.clause = t.text;
    const tableSlot = prev !== undefined && (prev.text === 'from' || prev.text === 'join' || (prev.text === ',' && scope.clause === 'from') || prev.text === 'lateral');
    if (!tableSlot || !scope.query) continue;
    if (t.kind === 'string') return 'cannot read a file or a string as a table';
    if (t.kind === 'symbol') continue; // a subquery: `FROM (SELECT ...)`
    if (t.kind === 'word' && t.text === 'lateral') continue;
    const name = t.kind === 'quoted' ? t.text.toLowerCase() : t.text;
    if (tokens[i + 1]?.text === '.') return `cannot read ${name}.${tokens[i + 2]?.text ?? ''}: use the views ${SQL_TRAIT_VIEWS.join(', ')} by their plain names`;
    if (tokens[i + 1]?.text === '(') {
      if (!TABLE_FUNCTIONS.has(name)) return `cannot read the table function ${name}(): an SQL trait reads only the views ${SQL_TRAIT_VIEWS.join(', ')}`;
      continue;
    }
    if (!(SQL_TRAIT_VIEWS as readonly string[]).includes(name) && !defined.has(name)) {
      return `reads ${name}, which is not one of the views ${SQL_TRAIT_VIEWS.join(', ')}`;
    }
  }
  return undefined;
}
