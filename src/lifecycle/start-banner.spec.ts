import { reachableUrl, startBanner } from './start-banner';

describe('start banner', () => {
  it('gives a URL that reaches the bound host from this machine', () => {
    expect(reachableUrl('0.0.0.0', 3000)).toBe('http://localhost:3000');
    expect(reachableUrl('::', 3000)).toBe('http://localhost:3000');
    expect(reachableUrl('127.0.0.1', 3001)).toBe('http://127.0.0.1:3001');
    expect(reachableUrl('::1', 3000)).toBe('http://[::1]:3000');
    expect(reachableUrl('10.0.3.7', 80)).toBe('http://10.0.3.7:80');
    expect(reachableUrl('gateway.internal', 3000)).toBe('http://gateway.internal:3000');
  });

  it('says where the API, the control room, its docs, the admin key and the database are', () => {
    const banner = startBanner({
      host: '0.0.0.0',
      port: 3000,
      adminKeyFromEnvironment: false,
      embeddedDataDir: './.data',
    });
    expect(banner.split('\n')).toEqual([
      'Switchyard is ready at http://localhost:3000 (listening on all interfaces, port 3000)',
      '  Control room: http://localhost:3000/ui (sign in with a read or admin key)',
      '  API docs:   http://localhost:3000/docs',
      '  Admin key:  printed once, above, by the first start on this database (lost it? set SWITCHYARD_ADMIN_KEY and restart); send it as "Authorization: Bearer <key>"',
      '  Database:   embedded Postgres, data in ./.data',
      '  Stop:       Ctrl-C (requests in flight finish and their rows are written first)',
    ]);
    expect(startBanner({ host: '127.0.0.1', port: 3000, adminKeyFromEnvironment: true })).toContain(
      'Admin key:  the value of SWITCHYARD_ADMIN_KEY',
    );
    expect(startBanner({ host: '127.0.0.1', port: 3000, adminKeyFromEnvironment: true })).not.toContain('Workers');
  });

  it('says how many gateway processes share the port under WORKERS', () => {
    const banner = startBanner({ host: '127.0.0.1', port: 3000, adminKeyFromEnvironment: true, workers: 4 });
    expect(banner.split('\n')).toContain('  Workers:    4 gateway processes share the port (WORKERS)');
  });
});
