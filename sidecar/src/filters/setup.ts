// Registers the built-in HTTP filters by their typed_config message type (the decoders accept exactly these).
import { FAULT_TYPE } from '../config/model.ts';
import { HttpFilterRegistry } from '../http/filter/registry.ts';
import { faultFilter } from './fault/fault-filter.ts';

export function setup(registry: HttpFilterRegistry = new HttpFilterRegistry()): HttpFilterRegistry {
  registry.register(FAULT_TYPE, faultFilter);
  return registry;
}
