import { ManualClock } from '../src/common/manual-clock';
import { api, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

/*
 * GET /api/canaries a page at a time, newest first, filtered by state and flag. The canaries are made
 * by hand (created, aborted, created again): a flag holds one active canary at a time, and ended ones
 * pile up, which is why the list pages. The ManualClock gives two of them the same created_at, so the
 * cursor must order by id too.
 */

const plan = {
  variant: 'treatment',
  stages: [
    { percentage: 5, durationSeconds: 300 },
    { percentage: 100, durationSeconds: 0 },
  ],
};

interface Listed {
  id: string;
  flagKey: string;
  state: string;
}
interface Page {
  items: Listed[];
  nextBefore: string | null;
}

describe('GET /api/canaries: pages newest first, filtered by state and flag', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  const clock = new ManualClock();
  /** Newest first, as the list answers them. */
  const made: Array<{ id: string; flagKey: string; state: string }> = [];

  const list = async (query: string): Promise<Page> => (await api(app).get(`/api/canaries?${query}`).expect(200)).body;
  const idsOf = (page: Page) => page.items.map((canary) => canary.id);

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      catalog: await writeTestCatalog(policiesFor('list-one', 'list-two')),
      clock,
    });
    for (const key of ['list-one', 'list-two'])
      await api(app)
        .post('/api/flags')
        .send({ key, variants: { control: 'deepseek-v3.2', treatment: 'gpt-4.1' }, defaultVariant: 'control' })
        .expect(201);
    const create = async (flagKey: string, start: boolean) => {
      const created = await api(app)
        .post('/api/canaries')
        .send({ flagKey, ...plan, start })
        .expect(201);
      made.unshift({ id: created.body.id, flagKey, state: created.body.state });
      return created.body.id as string;
    };
    // Oldest first: three ended on list-one, one paused there, one pending on list-two.
    for (let index = 0; index < 3; index++) {
      const id = await create('list-one', true);
      await api(app).post(`/api/canaries/${id}/abort`).send({}).expect(200);
      made[0].state = 'aborted';
      await clock.advance(1000);
    }
    const paused = await create('list-one', true);
    await api(app).post(`/api/canaries/${paused}/pause`).send({}).expect(200);
    made[0].state = 'paused';
    // The same instant as the paused one: only the id tells them apart.
    await create('list-two', false);
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  /** Newest first; canaries made at the same instant by id, descending (as the keyset cursor walks them). */
  const expected = () => {
    const [pending, paused, ...ended] = made;
    return [...[pending, paused].sort((a, b) => (a.id < b.id ? 1 : -1)), ...ended];
  };

  it('answers every canary newest first, and the next page from nextBefore', async () => {
    const all = await list('');
    expect([all.items.map(({ id, flagKey, state }) => ({ id, flagKey, state })), all.nextBefore]).toEqual([
      expected(),
      null,
    ]);
    // A canary in the list is the canary GET /api/canaries/:id answers.
    expect(all.items[0]).toEqual((await api(app).get(`/api/canaries/${all.items[0].id}`).expect(200)).body);

    const first = await list('limit=2');
    expect([idsOf(first), first.nextBefore]).toEqual([
      expected()
        .slice(0, 2)
        .map((c) => c.id),
      expected()[1].id,
    ]);
    const second = await list(`limit=2&before=${first.nextBefore}`);
    expect([idsOf(second), second.nextBefore]).toEqual([
      expected()
        .slice(2, 4)
        .map((c) => c.id),
      expected()[3].id,
    ]);
    // The last page is known as such: no cursor to an empty page after it.
    const third = await list(`limit=2&before=${second.nextBefore}`);
    expect([idsOf(third), third.nextBefore]).toEqual([[expected()[4].id], null]);
    const exact = await list(`limit=1&before=${expected()[3].id}`);
    expect([idsOf(exact), exact.nextBefore]).toEqual([[expected()[4].id], null]);
  });

  it('filters by state (one or several, or active and ended) and by flag', async () => {
    const ids = (filter: (canary: (typeof made)[number]) => boolean) =>
      expected()
        .filter(filter)
        .map((canary) => canary.id);
    expect(idsOf(await list('state=aborted'))).toEqual(ids((c) => c.state === 'aborted'));
    expect(idsOf(await list('state=paused,pending'))).toEqual(ids((c) => c.state !== 'aborted'));
    expect(idsOf(await list('state=active'))).toEqual(ids((c) => c.state !== 'aborted'));
    expect(idsOf(await list('state=ended'))).toEqual(ids((c) => c.state === 'aborted'));
    expect(idsOf(await list('state=running'))).toEqual([]);
    expect(idsOf(await list('flagKey=list-two'))).toEqual(ids((c) => c.flagKey === 'list-two'));
    expect(idsOf(await list('flagKey=list-one&state=active'))).toEqual(
      ids((c) => c.flagKey === 'list-one' && c.state === 'paused'),
    );
    // Filters and pages together: the cursor walks the filtered list.
    const first = await list('flagKey=list-one&state=ended&limit=2');
    const rest = await list(`flagKey=list-one&state=ended&limit=2&before=${first.nextBefore}`);
    expect([...idsOf(first), ...idsOf(rest), rest.nextBefore]).toEqual([...ids((c) => c.state === 'aborted'), null]);
    expect(idsOf(await list('flagKey=no-such-flag'))).toEqual([]);
  });

  it.each([
    ['limit=0', 'limit must be an integer between 1 and 200'],
    ['limit=201', 'limit must be an integer between 1 and 200'],
    ['limit=ten', 'limit must be an integer between 1 and 200'],
    ['before=42', 'before must be a canary id (a UUID: the nextBefore of the previous page)'],
    [
      'state=done',
      'state must be active, ended or a state (pending, running, paused, promoted, rolled_back, aborted), several separated by commas',
    ],
    [
      'state=running,',
      'state must be active, ended or a state (pending, running, paused, promoted, rolled_back, aborted), several separated by commas',
    ],
    [
      'state=running&state=paused',
      'state must be active, ended or a state (pending, running, paused, promoted, rolled_back, aborted), several separated by commas',
    ],
    ['flagKey=', 'flagKey must be the key of a flag; leave it out for every flag'],
    ['flagKey=Not%20a%20key', 'flagKey must be the key of a flag (a lower-case slug)'],
    ['page=2', 'page is not a field of this request; remove it'],
  ])('answers GET /api/canaries?%s with 400 naming the parameter', async (query, message) => {
    const response = await api(app).get(`/api/canaries?${query}`).expect(400);
    expect(response.body.message).toBe(message);
  });

  it('answers a before that names no canary with 400 unknown_cursor', async () => {
    const id = '0b6f3c1e-2f5d-4f7a-9d51-6f0e1c2a7b11';
    const response = await api(app).get(`/api/canaries?before=${id}`).expect(400);
    expect(response.body).toMatchObject({ code: 'unknown_cursor', message: `before: no canary has id ${id}` });
  });
});
