import { ApiKeyUsageEntity } from '../access/entities/api-key-usage.entity';
import { ApiKeyEntity } from '../access/entities/api-key.entity';
import { FlagHistoryEntity } from '../flags/entities/flag-history.entity';
import { FlagEntity } from '../flags/entities/flag.entity';
import { RequestMetricEntity } from '../metrics/entities/request-metric.entity';

/**
 * Every entity, listed (not globbed, for the same reason as MIGRATIONS) so that the TypeORM CLI's
 * DataSource knows the whole schema: `migration:generate` diffs against these. Modules still query
 * only their own entities, through TypeOrmModule.forFeature.
 */
export const ENTITIES = [FlagEntity, FlagHistoryEntity, RequestMetricEntity, ApiKeyEntity, ApiKeyUsageEntity];
