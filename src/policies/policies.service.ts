import { Injectable } from '@nestjs/common';
import { CatalogService } from '../catalog/catalog.service';
import { Clock } from '../common/clock';
import { FlagsService } from '../flags/flags.service';
import { MetricsQueryService } from '../metrics/metrics-query.service';
import { RoutingService } from '../routing/routing.service';
import { ActiveCanaries } from './active-canaries';
import type { PolicyMapDto } from './dto/policy.dto';
import { policyView } from './policy-map';

const HOUR_MS = 3_600_000;

/** The policy map: every policy of the catalog in force, joined with its flag, canary and last hour. */
@Injectable()
export class PoliciesService {
  constructor(
    private readonly routing: RoutingService,
    private readonly catalog: CatalogService,
    private readonly flags: FlagsService,
    private readonly metrics: MetricsQueryService,
    private readonly canaries: ActiveCanaries,
    private readonly clock: Clock,
  ) {}

  async map(): Promise<PolicyMapDto> {
    // The clock's last hour, now included: metric rows are stamped by the same clock.
    const to = this.clock.now();
    const from = new Date(to.getTime() - HOUR_MS);
    const [flags, traffic, canaries] = await Promise.all([
      this.flags.listActive(),
      this.metrics.variantTraffic(from, to),
      this.canaries.list(),
    ]);
    const models = new Map(this.catalog.listModels().map((model) => [model.id, model]));
    const policies = this.routing.compiledPolicies().map((compiled) =>
      policyView({
        compiled,
        flag: flags.find((flag) => flag.key === compiled.policy.flag),
        traffic: traffic.filter((row) => row.policy === compiled.policy.name),
        canary: canaries.find((canary) => canary.flagKey === compiled.policy.flag),
        models,
      }),
    );
    return { from: from.toISOString(), to: to.toISOString(), policies };
  }
}
