/**
 * How the batch writers send rows: one INSERT per batch whose one parameter is a JSON array of rows,
 * each row an array of its values in column order. A fixed statement text (prepared once), no
 * 65 535-parameter ceiling, and on the gateway's side one JSON.stringify of arrays of primitives:
 * about a quarter of the CPU per row of an object per row (whose keys are written out again for every
 * row), and half the bytes (docs/benchmarks.md). Postgres unpacks the array (jsonb_array_elements)
 * and casts each element to its column's type.
 */

/** A stored column: its name, its Postgres type, and the SQL for a value the row leaves null (default NULL). */
export type JsonRowColumn = readonly [column: string, type: string, whenNull?: string];

/**
 * `INSERT INTO table (columns) SELECT … FROM` the rows of parameter $1, then `suffix` (e.g. an ON
 * CONFLICT clause). Values: text, numbers and booleans as JSON; `timestamptz` as epoch milliseconds (a
 * number: Date's ISO text costs more to make than the gateway's one `getTime`); `jsonb` as any JSON value.
 */
export function insertJsonRowsSql(table: string, columns: readonly JsonRowColumn[], suffix = ''): string {
  const values = columns.map(([, type, whenNull], index) => {
    const value = valueSql(type, index);
    return whenNull === undefined ? value : `coalesce(${value}, ${whenNull})`;
  });
  return (
    `INSERT INTO ${table} (${columns.map(([column]) => column).join(', ')}) ` +
    `SELECT ${values.join(', ')} FROM jsonb_array_elements($1::jsonb) AS row` +
    (suffix ? ` ${suffix}` : '')
  );
}

/** The INSERT's one parameter: every row's values (in column order) as one JSON array. */
export function jsonRowsParameter<T>(rows: readonly T[], valuesOf: (row: T) => unknown[]): [string] {
  return [JSON.stringify(rows.map(valuesOf))];
}

function valueSql(type: string, index: number): string {
  switch (type) {
    case 'timestamptz':
      return `to_timestamp((row->>${index})::float8 / 1000)`;
    case 'jsonb':
      // A JSON null inside the row is SQL NULL in the column, as for every other type.
      return `nullif(row->${index}, 'null'::jsonb)`;
    default:
      return `(row->>${index})::${type}`;
  }
}
