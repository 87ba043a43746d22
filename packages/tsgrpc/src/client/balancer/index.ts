// Load-balancing policies, by name.
import "./pick-first.js";
import "./round-robin.js";

export type { Balancer, BalancerFactory, BalancerHelper } from "./balancer.js";
export { registerBalancer, getBalancer, selectBalancer } from "./balancer-registry.js";
export { failPicker, idlePicker, queuePicker, subchannelPicker, type Picker, type PickArgs, type PickResult } from "./picker.js";
