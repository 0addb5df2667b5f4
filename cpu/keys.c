/* The key hierarchy: EREPORT, EGETKEY and the key derivation behind them
 * (SDM Vol. 3D, EREPORT and EGETKEY; docs/keys.md).
 *
 * Every key is AES-128-CMAC(KDF key, KEYDEPENDENCIES) where the KDF key stands for the fused
 * root keys of a real part and comes from the platform root secret. Which inputs go into
 * KEYDEPENDENCIES for which key, and which requests fail, follow the SDM; the key values
 * cannot be the hardware's.
 *
 * The two leaves run in the trap path: no allocation, no I/O. EVP_MAC_init with a new key on a
 * CMAC context that already has its cipher does not allocate (tests/unit/test_keys.c checks),
 * so the contexts are made once, here, and lent out one per concurrent caller. */
#include "cpu/fault.h"
#include "cpu/keys.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>


/* Concurrent derivations (logical processors in EREPORT/EGETKEY at once, plus nesting). */
#define KEYS_MAC_CTXS 8

static const char kdf_label[16] = "SGXEMU-KDF-v1";

const uint8_t keys_pkcs1_padding[352] = {
	0x00, 0x01, [2 ... 331] = 0xFF, 0x00,
	/* DER DigestInfo header for SHA-256 (RFC 8017 §9.2 note 1) */
	0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

struct cpu_keys {
	uint8_t kdf_key[16];       /* the fused derivation key of a real part */
	uint8_t seal_fuses[16];    /* CR_SEAL_FUSES */
	uint8_t cpusvn[16];        /* CR_CPUSVN */
	uint8_t owner_epoch[16];   /* CR_SGXOWNEREPOCH */
	uint8_t report_keyid[32];  /* CR_REPORT_KEYID */
	unsigned checks;
	EVP_MAC *cmac;
	struct {
		atomic_int busy;
		EVP_MAC_CTX *ctx;
	} mac[KEYS_MAC_CTXS];
};

/* ---- CMAC with pooled contexts ---- */

static unsigned mac_claim(struct cpu_keys *k)
{
	for (;;) {
		for (unsigned i = 0; i < KEYS_MAC_CTXS; i++) {
			int zero = 0;

			if (atomic_compare_exchange_strong(&k->mac[i].busy, &zero, 1))
				return i;
		}
		/* All lent out: to other threads, which finish without waiting for us. */
		__builtin_ia32_pause();
	}
}

int keys_cmac(struct sgx_cpu *cpu, const uint8_t key[16], const void *data, size_t len,
	      uint8_t mac[16])
{
	struct cpu_keys *k = cpu->keys;
	size_t outl = 0;
	unsigned i;
	int ok;

	if (!k)
		return -1;
	i = mac_claim(k);
	ok = EVP_MAC_init(k->mac[i].ctx, key, 16, NULL) == 1 &&
	     EVP_MAC_update(k->mac[i].ctx, data, len) == 1 &&
	     EVP_MAC_final(k->mac[i].ctx, mac, &outl, 16) == 1 && outl == 16;
	atomic_store(&k->mac[i].busy, 0);
	return ok ? 0 : -1;
}

int keys_derive(struct sgx_cpu *cpu, struct keydep *d, uint8_t key[16])
{
	if (!cpu->keys)
		return -1;
	memcpy(d->label, kdf_label, sizeof(d->label));
	return keys_cmac(cpu, cpu->keys->kdf_key, d, sizeof(*d), key);
}

/* ---- the platform ---- */

/* SHA-256(label || root): independent values from one secret. */
static int from_root(const char *label, const uint8_t root[32], uint8_t *out, size_t n)
{
	uint8_t md[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(c, label, strlen(label)) == 1 &&
		 EVP_DigestUpdate(c, root, 32) == 1 && EVP_DigestFinal_ex(c, md, NULL) == 1;

	EVP_MD_CTX_free(c);
	if (ok)
		memcpy(out, md, n);
	OPENSSL_cleanse(md, sizeof(md));
	return ok ? 0 : -1;
}

static void keys_free(struct cpu_keys *k)
{
	if (!k)
		return;
	for (unsigned i = 0; i < KEYS_MAC_CTXS; i++)
		EVP_MAC_CTX_free(k->mac[i].ctx);
	EVP_MAC_free(k->cmac);
	OPENSSL_clear_free(k, sizeof(*k));
}

int cpu_keys_init(struct sgx_cpu *cpu, const struct cpu_key_config *cfg)
{
	static const uint8_t zero_key[16];
	struct cpu_keys *k = OPENSSL_zalloc(sizeof(*k));
	OSSL_PARAM params[2];

	if (!k)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	k->cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	if (!k->cmac)
		goto fail;
	for (unsigned i = 0; i < KEYS_MAC_CTXS; i++) {
		atomic_init(&k->mac[i].busy, 0);
		k->mac[i].ctx = EVP_MAC_CTX_new(k->cmac);
		/* Keyed once with the cipher so later EVP_MAC_init calls only change the key. */
		if (!k->mac[i].ctx || EVP_MAC_init(k->mac[i].ctx, zero_key, 16, params) != 1)
			goto fail;
	}
	if (from_root("sgxemu kdf key v1", cfg->root, k->kdf_key, 16) ||
	    from_root("sgxemu seal fuses v1", cfg->root, k->seal_fuses, 16))
		goto fail;
	if (cfg->fixed_report_keyid) {
		if (from_root("sgxemu report keyid v1", cfg->root, k->report_keyid, 32))
			goto fail;
	} else if (RAND_bytes(k->report_keyid, 32) != 1) {
		goto fail;
	}
	memcpy(k->cpusvn, cfg->cpusvn, 16);
	memcpy(k->owner_epoch, cfg->owner_epoch, 16);
	k->checks = cfg->checks;
	cpu_keys_fini(cpu);
	cpu->keys = k;
	return 0;
fail:
	keys_free(k);
	return -1;
}

void cpu_keys_fini(struct sgx_cpu *cpu)
{
	keys_free(cpu->keys);
	cpu->keys = NULL;
}

/* ---- the leaves ---- */

static bool in_elrange(const struct cpu_lp *lp, uint64_t la)
{
	return la >= lp->base && la - lp->base < lp->size;
}

/* "CPUSVN is beyond the current CPU configuration". CPUSVN is no number: we treat it as 16
 * independent components, each of which may only be at or below the platform's. */
static bool cpusvn_beyond(const struct cpu_keys *k, const uint8_t req[16])
{
	if (!(k->checks & KEYS_CHECK_CPUSVN))
		return false;
	for (unsigned i = 0; i < 16; i++)
		if (req[i] > k->cpusvn[i])
			return true;
	return false;
}

/* A REPORT key: EREPORT builds it from the target's TARGETINFO, EGETKEY inside the target
 * from its SECS. The two agree exactly when TARGETINFO repeats the SECS. */
static void report_keydep(struct keydep *d, const struct cpu_keys *k,
			  const struct sgx_attributes *attributes, const uint8_t mrenclave[32],
			  uint32_t miscselect, const uint8_t config_id[64], uint16_t config_svn,
			  const uint8_t keyid[32], const uint8_t padding[352])
{
	memset(d, 0, sizeof(*d));
	d->keyname = SGX_KEYNAME_REPORT;
	memcpy(d->owner_epoch, k->owner_epoch, 16);
	d->attributes = *attributes;
	memcpy(d->mrenclave, mrenclave, 32);
	memcpy(d->keyid, keyid, 32);
	memcpy(d->seal_key_fuses, k->seal_fuses, 16);
	memcpy(d->cpusvn, k->cpusvn, 16);
	memcpy(d->padding, padding, sizeof(d->padding));
	d->miscselect = miscselect;
	memcpy(d->config_id, config_id, 64);
	d->config_svn = config_svn;
}

long enclu_ereport(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *r,
		   struct cpu_fault *f)
{
	const struct sgx_secs *secs = (const struct sgx_secs *)epc_page(cpu, lp->secs);
	const struct secs_meta *meta = cpu->epcm[lp->secs].meta;
	struct cpu_keys *k = cpu->keys;
	const struct sgx_targetinfo *ti_p;
	struct sgx_targetinfo ti;
	const uint8_t *data;
	struct sgx_report rep;
	struct keydep d;
	uint8_t key[16];
	void *out;
	int rc;

	if (!k)
		return cpu_gp(f);
	if ((r->rbx & 511) || (r->rcx & 127) || (r->rdx & 511))
		return cpu_gp(f);
	if (!in_elrange(lp, r->rbx) || !in_elrange(lp, r->rcx) || !in_elrange(lp, r->rdx))
		return cpu_gp(f);
	if (!(ti_p = cpu_enclave_ptr(cpu, lp, r->rbx, sizeof(ti), ACCESS_R, f)) ||
	    !(data = cpu_enclave_ptr(cpu, lp, r->rcx, 64, ACCESS_R, f)) ||
	    !(out = cpu_enclave_ptr(cpu, lp, r->rdx, sizeof(rep), ACCESS_W, f)))
		return CPU_FAULT;
	/* Operands are read once: other threads of the enclave may be changing them. */
	memcpy(&ti, ti_p, sizeof(ti));

	memset(&rep, 0, sizeof(rep));
	memcpy(rep.body.cpusvn, k->cpusvn, 16);
	rep.body.miscselect = secs->miscselect;
	memcpy(rep.body.isv_ext_prod_id, meta->isv_ext_prod_id, 16);
	rep.body.attributes = secs->attributes;
	memcpy(rep.body.mrenclave, secs->mrenclave, 32);
	memcpy(rep.body.mrsigner, secs->mrsigner, 32);
	memcpy(rep.body.config_id, secs->config_id, 64);
	rep.body.isv_prod_id = secs->isv_prod_id;
	rep.body.isv_svn = secs->isv_svn;
	rep.body.config_svn = secs->config_svn;
	memcpy(rep.body.isv_family_id, meta->isv_family_id, 16);
	memcpy(rep.body.report_data, data, 64);
	memcpy(rep.keyid, k->report_keyid, 32);

	report_keydep(&d, k, &ti.attributes, ti.measurement, ti.miscselect, ti.config_id,
		      ti.config_svn, k->report_keyid, meta->padding);
	rc = keys_derive(cpu, &d, key) || keys_cmac(cpu, key, &rep.body, sizeof(rep.body), rep.mac);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc)
		return cpu_gp(f); /* OpenSSL failed: no architectural outcome fits, and it cannot happen */
	memcpy(out, &rep, sizeof(rep));
	return 0;
}

/* EGETKEY's status checks for the keys other than REPORT, in the order we make them (the SDM
 * leaves the order to the implementation): the attribute the key needs, then the SVNs. */
static uint64_t request_checks(const struct cpu_keys *k, const struct sgx_secs *secs,
			       const struct sgx_keyrequest *req)
{
	uint64_t flags = secs->attributes.flags;
	bool sealing = req->keyname == SGX_KEYNAME_SEAL ||
		       req->keyname == SGX_KEYNAME_PROVISION_SEAL;

	if (req->keyname == SGX_KEYNAME_EINITTOKEN && !(flags & SGX_ATTR_EINITTOKENKEY))
		return SGX_INVALID_ATTRIBUTE;
	if ((req->keyname == SGX_KEYNAME_PROVISION || req->keyname == SGX_KEYNAME_PROVISION_SEAL) &&
	    !(flags & SGX_ATTR_PROVISIONKEY))
		return SGX_INVALID_ATTRIBUTE;
	if (cpusvn_beyond(k, req->cpusvn))
		return SGX_INVALID_CPUSVN;
	if ((k->checks & KEYS_CHECK_ISVSVN) && req->isv_svn > secs->isv_svn)
		return SGX_INVALID_ISVSVN;
	/* CONFIGSVN is an input of the sealing keys only; it has no status code of its own. */
	if ((k->checks & KEYS_CHECK_CONFIGSVN) && sealing && req->config_svn > secs->config_svn)
		return SGX_INVALID_ISVSVN;
	return SGX_SUCCESS;
}

/* KEYDEPENDENCIES of SEAL, PROVISION_SEAL, PROVISION and EINITTOKEN keys (isa.md §9.1). */
static void request_keydep(struct keydep *d, const struct cpu_keys *k,
			   const struct sgx_secs *secs, const struct secs_meta *meta,
			   const struct sgx_keyrequest *req)
{
	uint16_t name = req->keyname, pol = req->keypolicy;

	memset(d, 0, sizeof(*d));
	d->keyname = name;
	d->isv_svn = req->isv_svn;
	/* INIT and DEBUG are bound whatever the mask says. */
	d->attributes.flags = (req->attribute_mask.flags | SGX_ATTR_INIT | SGX_ATTR_DEBUG) &
			      secs->attributes.flags;
	d->attributes.xfrm = req->attribute_mask.xfrm & secs->attributes.xfrm;
	memcpy(d->cpusvn, req->cpusvn, 16);
	memcpy(d->padding, meta->padding, sizeof(d->padding));
	d->miscselect = req->misc_mask & secs->miscselect;
	if (name == SGX_KEYNAME_SEAL || name == SGX_KEYNAME_PROVISION_SEAL) {
		/* The identity the policy names; PROVISION_SEAL is always the signer's. */
		if (name == SGX_KEYNAME_SEAL && (pol & SGX_KEYPOLICY_MRENCLAVE))
			memcpy(d->mrenclave, secs->mrenclave, 32);
		if (name == SGX_KEYNAME_PROVISION_SEAL || (pol & SGX_KEYPOLICY_MRSIGNER))
			memcpy(d->mrsigner, secs->mrsigner, 32);
		if (!(pol & SGX_KEYPOLICY_NOISVPRODID))
			d->isv_prod_id = secs->isv_prod_id;
		if (pol & SGX_KEYPOLICY_ISVFAMILYID)
			memcpy(d->isv_family_id, meta->isv_family_id, 16);
		if (pol & SGX_KEYPOLICY_ISVEXTPRODID)
			memcpy(d->isv_ext_prod_id, meta->isv_ext_prod_id, 16);
		if (pol & SGX_KEYPOLICY_CONFIGID) {
			memcpy(d->config_id, secs->config_id, 64);
			d->config_svn = req->config_svn;
		}
		d->keypolicy = pol;
		d->attribute_mask = req->attribute_mask;
		d->misc_mask = ~req->misc_mask;
		memcpy(d->seal_key_fuses, k->seal_fuses, 16);
		if (name == SGX_KEYNAME_SEAL) {
			memcpy(d->owner_epoch, k->owner_epoch, 16);
			memcpy(d->keyid, req->keyid, 32);
		}
	} else if (name == SGX_KEYNAME_PROVISION) {
		/* No OWNEREPOCH, fuses or KEYID: the key survives a change of owner, which is
		 * what lets a provisioning service recognise the part. */
		d->isv_prod_id = secs->isv_prod_id;
		memcpy(d->mrsigner, secs->mrsigner, 32);
		d->attribute_mask = req->attribute_mask;
		d->misc_mask = ~req->misc_mask;
	} else { /* EINITTOKEN */
		d->isv_prod_id = secs->isv_prod_id;
		memcpy(d->mrsigner, secs->mrsigner, 32);
		memcpy(d->owner_epoch, k->owner_epoch, 16);
		memcpy(d->keyid, req->keyid, 32);
		memcpy(d->seal_key_fuses, k->seal_fuses, 16);
	}
}

long enclu_egetkey(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *r,
		   struct cpu_fault *f)
{
	const struct sgx_secs *secs = (const struct sgx_secs *)epc_page(cpu, lp->secs);
	const struct secs_meta *meta = cpu->epcm[lp->secs].meta;
	struct cpu_keys *k = cpu->keys;
	const struct sgx_keyrequest *req_p;
	struct sgx_keyrequest req;
	struct keydep d;
	uint8_t key[16];
	uint64_t st;
	void *out;
	int rc;

	if (!k)
		return cpu_gp(f);
	if ((r->rbx & 511) || !in_elrange(lp, r->rbx))
		return cpu_gp(f);
	if (!(req_p = cpu_enclave_ptr(cpu, lp, r->rbx, sizeof(req), ACCESS_R, f)))
		return CPU_FAULT;
	if ((r->rcx & 15) || !in_elrange(lp, r->rcx))
		return cpu_gp(f);
	if (!(out = cpu_enclave_ptr(cpu, lp, r->rcx, 16, ACCESS_W, f)))
		return CPU_FAULT;
	memcpy(&req, req_p, sizeof(req));
	if (!cpu_all_zero(req.reserved1, sizeof(req.reserved1)) ||
	    !cpu_all_zero(req.reserved2, sizeof(req.reserved2)) ||
	    (req.keypolicy & SGX_KEYPOLICY_RESERVED))
		return cpu_gp(f);
	if (!(secs->attributes.flags & SGX_ATTR_KSS) &&
	    ((req.keypolicy & SGX_KEYPOLICY_KSS_MASK) || req.config_svn))
		return cpu_gp(f);

	switch (req.keyname) {
	case SGX_KEYNAME_REPORT:
		report_keydep(&d, k, &secs->attributes, secs->mrenclave, secs->miscselect,
			      secs->config_id, secs->config_svn, req.keyid, keys_pkcs1_padding);
		break;
	case SGX_KEYNAME_SEAL:
	case SGX_KEYNAME_PROVISION_SEAL:
	case SGX_KEYNAME_PROVISION:
	case SGX_KEYNAME_EINITTOKEN:
		st = request_checks(k, secs, &req);
		if (st != SGX_SUCCESS)
			return leaf_status(r, st);
		request_keydep(&d, k, secs, meta, &req);
		break;
	default:
		return leaf_status(r, SGX_INVALID_KEYNAME);
	}
	rc = keys_derive(cpu, &d, key);
	if (rc == 0)
		memcpy(out, key, 16);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&d, sizeof(d));
	if (rc)
		return cpu_gp(f); /* OpenSSL failed: cannot happen with pooled contexts */
	return leaf_status(r, SGX_SUCCESS);
}

static int einittoken_key(struct sgx_cpu *cpu, const struct sgx_einittoken *t, uint8_t key[16])
{
	struct keydep d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.keyname = SGX_KEYNAME_EINITTOKEN;
	d.isv_prod_id = t->isv_prod_id_le;
	d.isv_svn = t->isv_svn_le;
	memcpy(d.owner_epoch, cpu->keys->owner_epoch, 16);
	d.attributes = t->masked_attributes_le;
	memcpy(d.mrsigner, cpu->lepubkeyhash, 32);
	memcpy(d.keyid, t->keyid, 32);
	memcpy(d.seal_key_fuses, cpu->keys->seal_fuses, 16);
	memcpy(d.cpusvn, t->cpusvn_le, 16);
	memcpy(d.padding, keys_pkcs1_padding, sizeof(d.padding));
	d.miscselect = t->masked_miscselect_le;
	rc = keys_derive(cpu, &d, key);
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

long keys_einittoken_check(struct sgx_cpu *cpu, const struct sgx_einittoken *t,
			   const struct sgx_secs *secs, const uint8_t mrenclave[32],
			   const uint8_t mrsigner[32])
{
	uint8_t key[16], mac[16];
	int rc;

	if (!cpu->keys)
		return CPU_FAULT;
	/* A debug launch enclave may only launch debug enclaves. */
	if ((t->masked_attributes_le.flags & SGX_ATTR_DEBUG) &&
	    !(secs->attributes.flags & SGX_ATTR_DEBUG))
		return SGX_INVALID_EINITTOKEN;
	if ((t->valid & ~1U) || !cpu_all_zero(t->reserved1, sizeof(t->reserved1)) ||
	    !cpu_all_zero(t->reserved2, sizeof(t->reserved2)) ||
	    !cpu_all_zero(t->reserved3, sizeof(t->reserved3)) ||
	    !cpu_all_zero(t->reserved4, sizeof(t->reserved4)))
		return SGX_INVALID_EINITTOKEN;
	if (cpusvn_beyond(cpu->keys, t->cpusvn_le))
		return SGX_INVALID_CPUSVN;
	rc = einittoken_key(cpu, t, key) ||
	     keys_cmac(cpu, key, t, offsetof(struct sgx_einittoken, cpusvn_le), mac);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc)
		return CPU_FAULT;
	if (CRYPTO_memcmp(mac, t->mac, 16))
		return SGX_INVALID_EINITTOKEN;
	if (memcmp(t->mrenclave, mrenclave, 32) || memcmp(t->mrsigner, mrsigner, 32))
		return SGX_INVALID_MEASUREMENT;
	/* The SDM's SGX_INVALID_EINIT_ATTRIBUTE has no value anywhere: isa.md §2 picks 2. */
	if (memcmp(&t->attributes, &secs->attributes, sizeof(t->attributes)))
		return SGX_INVALID_ATTRIBUTE;
	return SGX_SUCCESS;
}
